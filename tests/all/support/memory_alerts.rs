//! Alerts kept in memory for the daemon run in-process: each published
//! (subject, message) in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use xfr53::observe::alerts::Publish;

#[derive(Clone, Default)]
pub struct Published(Arc<Mutex<Vec<(String, String)>>>);

impl Published {
    /// The subjects published so far.
    pub fn subjects(&self) -> Vec<String> {
        let published = self.0.lock().unwrap();
        published
            .iter()
            .map(|(subject, _)| subject.clone())
            .collect()
    }
}

impl Publish for Published {
    fn publish(
        &self,
        subject: String,
        message: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        self.0.lock().unwrap().push((subject, message));
        Box::pin(async { Ok(()) })
    }
}
