//! The two Route 53s every end-to-end scenario runs against, behind one
//! face: moto (behind a recording proxy) and the strict double.

use std::collections::BTreeMap;

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;

use super::http::Request;
use super::moto::Moto;
use super::strict_route53::StrictRoute53;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Moto,
    Strict,
}

pub enum Backend {
    Moto(Moto),
    Strict(StrictRoute53),
}

/// (name, type) -> (TTL, values sorted)
pub type Contents = BTreeMap<(String, String), (u32, Vec<String>)>;

impl Backend {
    /// `None` when moto is missing on a developer's machine.
    pub async fn start(kind: Kind) -> Option<Backend> {
        Some(match kind {
            Kind::Moto => Backend::Moto(Moto::start().await?),
            Kind::Strict => Backend::Strict(StrictRoute53::start().await),
        })
    }

    pub fn endpoint(&self) -> String {
        match self {
            Backend::Moto(m) => m.endpoint(),
            Backend::Strict(s) => s.endpoint(),
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        match self {
            Backend::Moto(m) => m.requests(),
            Backend::Strict(s) => s.requests(),
        }
    }

    pub fn strict(&self) -> &StrictRoute53 {
        match self {
            Backend::Strict(s) => s,
            Backend::Moto(_) => panic!("this scenario needs the strict double"),
        }
    }

    /// A client of the test's own, for setting up and inspecting.
    pub fn client(&self) -> Client {
        let config = aws_sdk_route53::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .endpoint_url(self.endpoint())
            .build();
        Client::from_conf(config)
    }

    pub async fn create_zone(&self, name: &str, private: bool) -> String {
        let mut request = self
            .client()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("{name}-{}", rand::random::<u32>()));
        if private {
            request =
                request.hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build());
        }
        let created = request.send().await.unwrap();
        created
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    }

    /// Every record set of the zone, read through the API.
    pub async fn contents(&self, zone_id: &str) -> Contents {
        let client = self.client();
        let mut out = Contents::new();
        let mut start: Option<(String, RrType)> = None;
        loop {
            let mut request = client.list_resource_record_sets().hosted_zone_id(zone_id);
            if let Some((name, rtype)) = &start {
                request = request
                    .start_record_name(name)
                    .start_record_type(rtype.clone());
            }
            let page = request.send().await.unwrap();
            for set in page.resource_record_sets() {
                let mut values: Vec<String> = set
                    .resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect();
                values.sort();
                out.insert(
                    (set.name().to_string(), set.r#type().as_str().to_string()),
                    (set.ttl().unwrap_or(0) as u32, values),
                );
            }
            if !page.is_truncated() {
                return out;
            }
            start = Some((
                page.next_record_name().unwrap().to_string(),
                page.next_record_type().unwrap().clone(),
            ));
        }
    }

    /// Changes a set directly, as another tool would.
    pub async fn upsert(&self, zone_id: &str, name: &str, rtype: &str, ttl: i64, values: &[&str]) {
        self.change(ChangeAction::Upsert, zone_id, name, rtype, ttl, values)
            .await
    }

    /// Deletes a set directly, as another tool would.
    pub async fn delete(&self, zone_id: &str, name: &str, rtype: &str, ttl: i64, values: &[&str]) {
        self.change(ChangeAction::Delete, zone_id, name, rtype, ttl, values)
            .await
    }

    async fn change(
        &self,
        action: ChangeAction,
        zone_id: &str,
        name: &str,
        rtype: &str,
        ttl: i64,
        values: &[&str],
    ) {
        let records = values
            .iter()
            .map(|v| ResourceRecord::builder().value(*v).build().unwrap())
            .collect();
        let set = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::from(rtype))
            .ttl(ttl)
            .set_resource_records(Some(records))
            .build()
            .unwrap();
        let change = Change::builder()
            .action(action)
            .resource_record_set(set)
            .build()
            .unwrap();
        self.client()
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// The ChangeResourceRecordSets requests among `requests`.
pub fn change_requests(requests: &[Request]) -> Vec<&Request> {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path().contains("/rrset"))
        .collect()
}

/// (values, characters) of a ChangeResourceRecordSets request, UPSERT twice.
pub fn request_size(request: &Request) -> (usize, usize) {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let doc = roxmltree::Document::parse(&body).unwrap();
    let (mut values, mut chars) = (0, 0);
    for change in doc.descendants().filter(|n| n.has_tag_name("Change")) {
        let action = change
            .descendants()
            .find(|n| n.has_tag_name("Action"))
            .and_then(|n| n.text());
        let weight = if action == Some("UPSERT") { 2 } else { 1 };
        for value in change.descendants().filter(|n| n.has_tag_name("Value")) {
            values += weight;
            chars += weight * value.text().unwrap_or("").len();
        }
    }
    (values, chars)
}

/// The actions, names and types of a ChangeResourceRecordSets request.
pub fn request_changes(request: &Request) -> Vec<String> {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let doc = roxmltree::Document::parse(&body).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("Change"))
        .map(|change| {
            let text = |tag: &str| {
                change
                    .descendants()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .to_string()
            };
            let values: Vec<String> = change
                .descendants()
                .filter(|n| n.has_tag_name("Value"))
                .map(|n| n.text().unwrap_or("").to_string())
                .collect();
            format!(
                "{} {} {} {} {}",
                text("Action"),
                text("Name"),
                text("Type"),
                text("TTL"),
                values.join(" | ")
            )
        })
        .collect()
}
