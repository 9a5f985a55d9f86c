//! Alerts: the messages `core::alert` decides on, published to an SNS
//! topic (or, in tests, wherever a `Publish` puts them).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sns::Client;
use tokio::time::Instant;

use crate::config::AlertSettings;
use crate::core::alert::{Alert, Alerting};
use crate::core::name::Name;
use crate::route53::aws::sdk_config;

/// Where an alert's subject and message go; the error says why not.
pub trait Publish: Send + Sync {
    fn publish(
        &self,
        subject: String,
        message: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// An SNS topic.
pub struct SnsTopic {
    client: Client,
    topic: String,
}

impl SnsTopic {
    pub async fn new(settings: &AlertSettings) -> SnsTopic {
        let shared = sdk_config(settings.region.clone()).await;
        let mut config = aws_sdk_sns::config::Builder::from(&shared);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        SnsTopic {
            client: Client::from_conf(config.build()),
            topic: settings.sns_topic_arn.clone(),
        }
    }
}

impl Publish for SnsTopic {
    fn publish(
        &self,
        subject: String,
        message: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let sent = (self.client.publish())
                .topic_arn(&self.topic)
                .subject(subject)
                .message(message)
                .send()
                .await;
            sent.map(|_| ()).map_err(|e| {
                format!(
                    "topic {}: {}",
                    self.topic,
                    aws_sdk_sns::error::DisplayErrorContext(e)
                )
            })
        })
    }
}

/// Words an alert and publishes it.
pub struct Alerter(Arc<dyn Publish>);

impl Alerter {
    pub fn new(sink: Arc<dyn Publish>) -> Alerter {
        Alerter(sink)
    }

    /// Publishes one alert; a failure is logged, not retried (the next
    /// state change sends the next message).
    pub async fn send(&self, zone: &Name, alert: Alert, detail: &str) {
        let (subject, message) = match alert {
            Alert::Failing => (
                format!("xfr53: {zone} is failing to sync"),
                format!("xfr53 cannot keep Route 53 in sync for zone {zone}: {detail}\nIt keeps retrying; a message follows when it recovers."),
            ),
            Alert::TaskDied => (
                format!("xfr53: {zone}: its task died"),
                format!("xfr53's task syncing zone {zone} died: {detail}\nThis is a bug in xfr53; please report it with the daemon's log. The task is restarted with backoff, and the zone is not ready until it syncs again; a message follows when it does."),
            ),
            Alert::Drift => (
                format!("xfr53: {zone} drifted in Route 53"),
                format!("xfr53's audit found Route 53 differing from the primary's zone {zone} at the serial its _serial record holds (a hand edit, or another tool writing the hosted zone): {detail}"),
            ),
            Alert::Recovered => (
                format!("xfr53: {zone} recovered"),
                format!("xfr53 synced zone {zone} again: {detail}"),
            ),
        };
        // SNS subjects are at most 100 characters
        let subject: String = subject.chars().take(100).collect();
        match self.0.publish(subject, message).await {
            Ok(()) => tracing::info!(zone = %zone, alert = ?alert, "alert sent"),
            Err(e) => tracing::error!(zone = %zone, alert = ?alert, "alert not sent: {e}"),
        }
    }
}

/// One zone's alerts: the rules of `core::alert` and the sender. Kept
/// across restarts of the zone's task, so one episode (failing syncs, a
/// task dying again and again) alerts once.
pub struct ZoneAlerts {
    zone: Name,
    rules: Mutex<Alerting>,
    origin: Instant,
    alerter: Option<Arc<Alerter>>,
}

impl ZoneAlerts {
    pub fn new(zone: Name, grace: Duration, alerter: Option<Arc<Alerter>>) -> ZoneAlerts {
        ZoneAlerts {
            zone,
            rules: Mutex::new(Alerting::new(grace)),
            origin: Instant::now(),
            alerter,
        }
    }

    /// A sync ended; sends (in the background) the alert it calls for, if
    /// any, and returns it.
    pub fn sync_ended(&self, succeeded: bool, detail: String) -> Option<Alert> {
        let alert = self.rules().observe(succeeded, self.origin.elapsed());
        self.send(alert, detail)
    }

    /// The zone's task died (`why`); as `sync_ended`.
    pub fn task_died(&self, why: String) -> Option<Alert> {
        let alert = self.rules().task_died(self.origin.elapsed());
        self.send(alert, why)
    }

    /// An audit compared the zone and found `drift` or not; as
    /// `sync_ended`.
    pub fn audited(&self, drift: bool, detail: String) -> Option<Alert> {
        let alert = self.rules().audited(drift);
        self.send(alert, detail)
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, Alerting> {
        // the rules stay whole whatever panicked while they were held
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, alert: Option<Alert>, detail: String) -> Option<Alert> {
        if let (Some(alert), Some(alerter)) = (alert, &self.alerter) {
            let (alerter, zone) = (alerter.clone(), self.zone.clone());
            tokio::spawn(async move { alerter.send(&zone, alert, &detail).await });
        }
        alert
    }
}
