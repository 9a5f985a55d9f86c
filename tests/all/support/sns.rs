//! SNS on moto, for the daemon's alerts: a topic, and what was published.

use super::http::Request;

/// A new SNS topic `name` on `endpoint` (moto's): its ARN.
pub async fn topic(endpoint: &str, name: &str) -> String {
    let client = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .endpoint_url(endpoint)
            .build(),
    );
    let created = client.create_topic().name(name).send().await.unwrap();
    created.topic_arn().unwrap().to_string()
}

/// The bodies of the SNS Publish requests among `requests`.
pub fn published(requests: Vec<Request>) -> Vec<String> {
    requests
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|body| body.contains("Action=Publish"))
        .collect()
}
