//! Alerts to an SNS topic: the messages `core::alert` decides on.

use aws_sdk_sns::Client;

use crate::config::AlertSettings;
use crate::core::alert::Alert;
use crate::core::name::Name;
use crate::route53::aws::sdk_config;

pub struct Alerter {
    client: Client,
    topic: String,
}

impl Alerter {
    pub async fn new(settings: &AlertSettings) -> Alerter {
        let shared = sdk_config(settings.region.clone()).await;
        let mut config = aws_sdk_sns::config::Builder::from(&shared);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Alerter {
            client: Client::from_conf(config.build()),
            topic: settings.sns_topic_arn.clone(),
        }
    }

    /// Publishes one alert; a failure is logged, not retried (the next
    /// state change sends the next message).
    pub async fn send(&self, zone: &Name, alert: Alert, detail: &str) {
        let (subject, message) = match alert {
            Alert::Failing => (
                format!("xfr53: {zone} is failing to sync"),
                format!("xfr53 cannot keep Route 53 in sync for zone {zone}: {detail}\nIt keeps retrying; a message follows when it recovers."),
            ),
            Alert::Recovered => (
                format!("xfr53: {zone} recovered"),
                format!("xfr53 synced zone {zone} again: {detail}"),
            ),
        };
        // SNS subjects are at most 100 characters
        let subject: String = subject.chars().take(100).collect();
        match self
            .client
            .publish()
            .topic_arn(&self.topic)
            .subject(subject)
            .message(message)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(zone = %zone, alert = ?alert, topic = %self.topic, "alert sent")
            }
            Err(e) => {
                tracing::error!(zone = %zone, alert = ?alert, topic = %self.topic, "alert not sent: {}", aws_sdk_sns::error::DisplayErrorContext(e))
            }
        }
    }
}
