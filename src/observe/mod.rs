//! What the daemon shows of itself: its metrics (`/metrics`), its HTTP
//! endpoints (`/metrics`, `/healthz`, `/readyz`) and its SNS alerts.

pub mod alerts;
pub mod catalogs;
pub mod http;
pub mod metrics;

mod collected;
mod families;
