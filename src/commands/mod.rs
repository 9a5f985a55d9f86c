//! What each command does, on top of the core.

pub mod plan;

/// How a command ended, as the exit code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done / in sync: exit 0.
    Ok,
    /// Drift found or a safety rule refused the plan: exit 1.
    Refused,
}
