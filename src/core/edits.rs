//! What changed in a held structure (the zone copy, the Route 53 view)
//! since it was last saved: the edits to append to the state's journal, or
//! everything, when it was built anew.

/// Edits since the last save.
#[derive(Clone, Debug)]
pub enum Edits<T> {
    /// Built anew (a whole transfer, a full listing): only a full write
    /// saves it.
    Whole,
    /// These edits, in order, on what was last saved or loaded.
    Since(Vec<T>),
}

impl<T: Clone> Edits<T> {
    /// Nothing since the last save or load.
    pub fn none() -> Edits<T> {
        Edits::Since(Vec::new())
    }

    /// Adds edits made after the others.
    pub fn extend(&mut self, edits: &[T]) {
        if let Edits::Since(held) = self {
            held.extend_from_slice(edits);
        }
    }
}
