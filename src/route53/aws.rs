//! The hosted zone through aws-sdk-route53: credentials from aws-config's
//! standard chain (environment, profile, SSO, EC2 instance role through
//! IMDSv2; see `credentials`) or, for a zone with `role_arn`, its role's
//! (see `role`), an optional endpoint override for emulators,
//! and the SDK's own retries off: `Throttle` paces and retries every
//! request it may.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType as AwsRrType,
};
use aws_sdk_route53::Client;

use super::credentials::{credentials_error, describe, region_and_credentials};
use super::directory::{only, Directory, Listed};
use super::landed::landed;
use super::role::ZoneRole;
use super::throttle::Throttle;
use super::{HostedZone, HostedZones, Route53Error, Submitted};
use crate::config::Route53Settings;
use crate::core::name::Name;
use crate::core::plan::{Action, Batch};
use crate::core::rrset::{CurrentSet, RecordSet, RrType};

/// Route 53's largest page of ListResourceRecordSets.
const PAGE: i32 = 300;

/// aws-config's standard chains, with SDK retries off (callers pace and
/// retry), a region (see `region_and_credentials`) and one HTTPS client
/// for every client made from it.
pub async fn sdk_config(region: Option<String>) -> aws_config::SdkConfig {
    let (region, credentials) = region_and_credentials(region).await;
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::https::shared())
        .region(region)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// A Route 53 client's configuration: `shared`'s settings, at `endpoint`
/// when set.
fn route53_config(
    shared: &aws_config::SdkConfig,
    endpoint: Option<&str>,
) -> aws_sdk_route53::config::Builder {
    let mut config = aws_sdk_route53::config::Builder::from(shared);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    config
}

/// One hosted zone, found by ID or by name.
pub struct AwsHostedZone {
    client: Client,
    id: String,
    zone: Name,
    throttle: Arc<Throttle>,
}

impl AwsHostedZone {
    /// Finds the hosted zone of `zone`: the one with `id` (checking it is
    /// that zone), else the only one of that name.
    pub async fn find(
        client: Client,
        throttle: Arc<Throttle>,
        zone: &Name,
        id: Option<&str>,
    ) -> Result<AwsHostedZone, Route53Error> {
        let id = match id {
            Some(id) => {
                let found = throttle
                    .run("GetHostedZone", || async {
                        client
                            .get_hosted_zone()
                            .id(id)
                            .send()
                            .await
                            .map_err(|e| classify("GetHostedZone", e))
                    })
                    .await?;
                let name = found.hosted_zone().map(|z| z.name()).unwrap_or_default();
                if Name::parse_route53(name).ok().as_ref() != Some(zone) {
                    return Err(Route53Error::Fatal(format!(
                        "hosted zone {id} is {name}, not {zone}: fix hosted_zone_id"
                    )));
                }
                id.to_string()
            }
            None => {
                let listed = throttle
                    .run("ListHostedZonesByName", || async {
                        client
                            .list_hosted_zones_by_name()
                            .dns_name(zone.as_str())
                            .max_items(100)
                            .send()
                            .await
                            .map_err(|e| classify("ListHostedZonesByName", e))
                    })
                    .await?;
                let matching: Vec<Listed> = listed
                    .hosted_zones()
                    .iter()
                    .filter(|z| Name::parse_route53(z.name()).ok().as_ref() == Some(zone))
                    .map(|z| Listed {
                        id: z.id().to_string(),
                        private: z.config().is_some_and(|c| c.private_zone()),
                    })
                    .collect();
                only(zone, &matching)?
            }
        };
        Ok(AwsHostedZone {
            client,
            id: id.trim_start_matches("/hostedzone/").to_string(),
            zone: zone.clone(),
            throttle,
        })
    }

    /// The hosted zone `id`, known (from an earlier lookup) to be `zone`.
    pub fn known(client: Client, throttle: Arc<Throttle>, zone: &Name, id: &str) -> AwsHostedZone {
        AwsHostedZone {
            client,
            id: id.to_string(),
            zone: zone.clone(),
            throttle,
        }
    }

    async fn page(
        &self,
        start: Option<(String, AwsRrType, Option<String>)>,
        max_items: i32,
    ) -> Result<
        aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput,
        Route53Error,
    > {
        self.throttle
            .run("ListResourceRecordSets", || async {
                let mut request = self
                    .client
                    .list_resource_record_sets()
                    .hosted_zone_id(&self.id)
                    .max_items(max_items);
                if let Some((name, rtype, identifier)) = &start {
                    request = request
                        .start_record_name(name)
                        .start_record_type(rtype.clone())
                        .set_start_record_identifier(identifier.clone());
                }
                request
                    .send()
                    .await
                    .map_err(|e| classify("ListResourceRecordSets", e))
            })
            .await
    }
}

/// Route 53 through one client with the standard chain's credentials, a
/// client of its own for each zone with a role, and one rate limit shared
/// by every zone.
#[derive(Clone)]
pub struct AwsZones {
    shared: aws_config::SdkConfig,
    endpoint: Option<String>,
    client: Client,
    /// Route 53's limit is per account, so zones of other accounts could go
    /// faster; one limit for all is simple and never over any account's.
    throttle: Arc<Throttle>,
    directory: Arc<Directory>,
}

impl AwsZones {
    pub async fn connect(settings: &Route53Settings) -> AwsZones {
        let shared = sdk_config(settings.region.clone()).await;
        let endpoint = settings.endpoint.clone();
        AwsZones {
            client: Client::from_conf(route53_config(&shared, endpoint.as_deref()).build()),
            shared,
            endpoint,
            throttle: Arc::new(Throttle::new(
                settings.requests_per_second,
                settings.max_attempts,
                settings.audit_share,
            )),
            directory: Arc::default(),
        }
    }

    /// The client for `zone`: with `role`, one of its own whose session
    /// names the zone (clients made from one `SdkConfig` share its HTTPS
    /// client, see `https`; each assumes its role about once an hour).
    async fn client_for(&self, zone: &Name, role: Option<&str>) -> Client {
        let Some(role) = role else {
            return self.client.clone();
        };
        let credentials = ZoneRole::new(&self.shared, self.endpoint.as_deref(), zone, role).await;
        let config = route53_config(&self.shared, self.endpoint.as_deref())
            .credentials_provider(credentials);
        Client::from_conf(config.build())
    }
}

impl HostedZones for AwsZones {
    type Zone = AwsHostedZone;

    async fn prefetch(&self, zones: usize) {
        self.directory
            .fill(&self.client, &self.throttle, zones)
            .await;
    }

    async fn open(
        &self,
        zone: &Name,
        id: Option<&str>,
        role: Option<&str>,
    ) -> anyhow::Result<AwsHostedZone> {
        use anyhow::Context;
        let (client, throttle) = (self.client_for(zone, role).await, self.throttle.clone());
        // the directory lists xfr53's own account, not a role's
        let listed = role
            .is_none()
            .then(|| self.directory.take(zone, id))
            .flatten();
        let found = match listed {
            Some(listed) => listed.map(|id| AwsHostedZone::known(client, throttle, zone, &id)),
            None => AwsHostedZone::find(client, throttle, zone, id).await,
        };
        found.with_context(|| format!("zone {zone}: finding its hosted zone in Route 53"))
    }

    async fn names(&self) -> anyhow::Result<BTreeSet<Name>> {
        use anyhow::Context;
        let mut names = BTreeSet::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .throttle
                .run("ListHostedZones", || async {
                    (self.client.list_hosted_zones())
                        .max_items(100)
                        .set_marker(marker.clone())
                        .send()
                        .await
                        .map_err(|e| classify("ListHostedZones", e))
                })
                .await
                .context("listing the account's hosted zones")?;
            names.extend(
                (page.hosted_zones().iter()).filter_map(|z| Name::parse_route53(z.name()).ok()),
            );
            marker = page.next_marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                return Ok(names);
            }
        }
    }

    async fn create(&self, zone: &Name, reference: &str) -> anyhow::Result<Option<Vec<String>>> {
        use anyhow::Context;
        let context = || format!("zone {zone}: creating its hosted zone in Route 53");
        let config = HostedZoneConfig::builder()
            .comment("created by xfr53 for a catalog member zone")
            .private_zone(false)
            .build();
        let created = self
            .throttle
            .run("CreateHostedZone", || async {
                let request = self.client.create_hosted_zone();
                match (request.name(zone.as_str()))
                    .caller_reference(reference)
                    .hosted_zone_config(config.clone())
                    .send()
                    .await
                {
                    Ok(created) => Ok(Some(created)),
                    // this reference created it already: a retry
                    Err(e) if e.code() == Some("HostedZoneAlreadyExists") => Ok(None),
                    Err(e) => Err(classify("CreateHostedZone", e)),
                }
            })
            .await
            .with_context(context)?;
        Ok(created.map(|c| {
            (c.delegation_set())
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default()
        }))
    }

    async fn delete(&self, zone: &Name, id: &str) -> anyhow::Result<()> {
        use anyhow::Context;
        self.throttle
            .run("DeleteHostedZone", || async {
                self.client
                    .delete_hosted_zone()
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| classify("DeleteHostedZone", e))
            })
            .await
            .with_context(|| format!("zone {zone}: deleting its hosted zone {id} in Route 53"))?;
        Ok(())
    }
}

impl HostedZone for AwsHostedZone {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self) -> Result<Vec<CurrentSet>, Route53Error> {
        let mut sets = Vec::new();
        let mut start = None;
        loop {
            let page = self.page(start, PAGE).await?;
            for set in page.resource_record_sets() {
                sets.extend(current_set(set, &self.zone)?);
            }
            if !page.is_truncated() {
                return Ok(sets);
            }
            start = match (page.next_record_name(), page.next_record_type()) {
                (Some(name), Some(rtype)) => Some((
                    name.to_string(),
                    rtype.clone(),
                    page.next_record_identifier().map(str::to_string),
                )),
                _ => {
                    return Err(Route53Error::Fatal(
                        "a truncated listing without a next record".into(),
                    ))
                }
            };
        }
    }

    async fn get(&self, name: &Name, rtype: RrType) -> Result<Option<RecordSet>, Route53Error> {
        let start = Some((name.to_string(), AwsRrType::from(rtype.as_str()), None));
        let page = self.page(start, 1).await?;
        let found = page.resource_record_sets().first();
        Ok(
            match found
                .map(|s| current_set(s, &self.zone))
                .transpose()?
                .flatten()
            {
                Some(current)
                    if current.unmanaged.is_none()
                        && current.set.key() == (name.clone(), rtype) =>
                {
                    Some(current.set)
                }
                _ => None,
            },
        )
    }

    async fn change(&self, batch: &Batch) -> Result<Submitted, Route53Error> {
        let changes: Vec<Change> = batch
            .actions()
            .map(|(action, set)| aws_change(action, set))
            .collect::<Result<_, _>>()?;
        let change_batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("xfr53")
            .build()
            .map_err(|e| Route53Error::Fatal(e.to_string()))?;
        // set when an attempt failed in a way that may have landed it
        let uncertain = AtomicBool::new(false);
        let output = self
            .throttle
            .run("ChangeResourceRecordSets", || async {
                self.client
                    .change_resource_record_sets()
                    .hosted_zone_id(&self.id)
                    .change_batch(change_batch.clone())
                    .send()
                    .await
                    .map_err(|e| match e.as_service_error() {
                        // Route 53 sends the reasons as the error's Message
                        Some(
                            rejected @ ChangeResourceRecordSetsError::InvalidChangeBatch(invalid),
                        ) => {
                            let mut reasons = invalid.messages().to_vec();
                            reasons.extend(invalid.message().map(str::to_string));
                            if reasons.is_empty() {
                                reasons.extend(rejected.message().map(str::to_string));
                            }
                            Route53Error::Rejected(reasons.join("; "))
                        }
                        _ => classify("ChangeResourceRecordSets", e),
                    })
                    .inspect_err(|e| {
                        if matches!(e, Route53Error::Transient(_)) {
                            uncertain.store(true, Ordering::Relaxed);
                        }
                    })
            })
            .await;
        let output = match output {
            Err(Route53Error::Rejected(reason)) if uncertain.load(Ordering::Relaxed) => {
                if landed(self, batch).await? {
                    tracing::warn!(zone = %self.zone, %reason, "an earlier attempt of this change batch had landed (its answer was lost); the retry's rejection only says so. Its change ID is lost, so INSYNC is not awaited");
                    return Ok(Submitted {
                        id: "(lost with the answer)".into(),
                        insync: true,
                    });
                }
                return Err(Route53Error::Rejected(reason));
            }
            other => other?,
        };
        let info = output.change_info();
        Ok(Submitted {
            id: info.map(|c| c.id().to_string()).unwrap_or_default(),
            insync: info.map(|c| c.status()) == Some(&ChangeStatus::Insync),
        })
    }

    async fn insync(&self, id: &str) -> Result<bool, Route53Error> {
        let output = self
            .throttle
            .run("GetChange", || async {
                self.client
                    .get_change()
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| classify("GetChange", e))
            })
            .await?;
        Ok(output.change_info().map(|c| c.status()) == Some(&ChangeStatus::Insync))
    }
}

/// A Route 53 record set in core terms; `None` for a type xfr53 does not know.
fn current_set(set: &ResourceRecordSet, zone: &Name) -> Result<Option<CurrentSet>, Route53Error> {
    let name = Name::parse_route53(set.name())
        .map_err(|e| Route53Error::Fatal(format!("hosted zone of {zone} lists a bad name: {e}")))?;
    let Ok(rtype) = set.r#type().as_str().parse::<RrType>() else {
        tracing::warn!(zone = %zone, name = %name, rtype = set.r#type().as_str(), "Route 53 holds a record type xfr53 does not know; left alone");
        return Ok(None);
    };
    let unmanaged = if let Some(alias) = set.alias_target() {
        Some(format!("alias to {}", alias.dns_name()))
    } else if let Some(identifier) = set.set_identifier() {
        Some(format!("routing policy set {identifier:?}"))
    } else {
        set.traffic_policy_instance_id()
            .map(|id| format!("traffic policy instance {id}"))
    };
    Ok(Some(CurrentSet {
        set: RecordSet {
            name,
            rtype,
            ttl: set.ttl().unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
            values: set
                .resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect(),
        },
        unmanaged,
    }))
}

fn aws_change(action: Action, set: &RecordSet) -> Result<Change, Route53Error> {
    let records = set
        .values
        .iter()
        .map(|v| ResourceRecord::builder().value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Route53Error::Fatal(e.to_string()))?;
    let rrset = ResourceRecordSet::builder()
        .name(set.name.as_str())
        .r#type(AwsRrType::from(set.rtype.as_str()))
        .ttl(i64::from(set.ttl))
        .set_resource_records(Some(records))
        .build()
        .map_err(|e| Route53Error::Fatal(e.to_string()))?;
    Change::builder()
        .action(match action {
            Action::Create => ChangeAction::Create,
            Action::Delete => ChangeAction::Delete,
        })
        .resource_record_set(rrset)
        .build()
        .map_err(|e| Route53Error::Fatal(e.to_string()))
}

/// Sorts an SDK error into transient, rejected or fatal, naming the IAM
/// action when access is denied. Missing credentials are fatal: a retry
/// seconds later finds none either.
pub(super) fn classify<E, R>(action: &str, error: SdkError<E, R>) -> Route53Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: std::error::Error + 'static,
{
    if let Some(credentials) = credentials_error(&error) {
        return Route53Error::Fatal(describe(credentials));
    }
    let text = format!("{action}: {}", DisplayErrorContext(&error));
    let status = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return Route53Error::Transient(text)
        }
        SdkError::ServiceError(service) => raw_status(service.raw()),
        _ => None,
    };
    match error.code() {
        Some(
            "Throttling"
            | "ThrottlingException"
            | "PriorRequestNotComplete"
            | "RequestLimitExceeded",
        ) => Route53Error::Transient(text),
        Some("AccessDenied" | "AccessDeniedException") => Route53Error::Fatal(format!(
            "{text}: allow route53:{action} on this hosted zone in the IAM policy of xfr53's role"
        )),
        _ if status.is_some_and(|s| s >= 500) => Route53Error::Transient(text),
        _ => Route53Error::Fatal(text),
    }
}

fn raw_status<R: std::fmt::Debug + 'static>(raw: &R) -> Option<u16> {
    (raw as &dyn std::any::Any)
        .downcast_ref::<aws_sdk_route53::config::http::HttpResponse>()
        .map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_route53::error::ConnectorError;
    use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameError;

    use super::*;

    type Error = SdkError<ListHostedZonesByNameError, aws_sdk_route53::config::http::HttpResponse>;

    /// The SDK reports credentials it cannot find as a dispatch failure,
    /// which was retried as a dropped connection: 8 attempts, up to 26 s.
    #[test]
    fn missing_credentials_are_fatal_and_a_dropped_connection_is_not() {
        let missing: Error = SdkError::dispatch_failure(ConnectorError::other(
            CredentialsError::not_loaded("no providers in chain provided credentials").into(),
            None,
        ));
        match classify("ListHostedZonesByName", missing) {
            Route53Error::Fatal(text) => {
                assert!(text.starts_with("no AWS credentials found"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        let dropped: Error = SdkError::dispatch_failure(ConnectorError::io(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset).into(),
        ));
        assert!(matches!(
            classify("ListHostedZonesByName", dropped),
            Route53Error::Transient(_)
        ));
    }
}
