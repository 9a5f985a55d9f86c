//! The Route 53 side: a hosted zone in core terms, its aws-sdk-route53
//! implementation, and applying plans to it.

pub mod apply;
pub mod aws;
pub mod credentials;
mod directory;
pub mod https;
pub mod landed;
pub mod role;
pub mod throttle;

use std::collections::BTreeSet;
use std::future::Future;

use crate::core::name::Name;
use crate::core::plan::Batch;
use crate::core::rrset::{CurrentSet, RecordSet, RrType};

/// Why a Route 53 request failed, as far as the caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum Route53Error {
    /// Worth retrying: throttling, PriorRequestNotComplete, 5xx, timeouts,
    /// dropped connections.
    #[error("{0}")]
    Transient(String),
    /// The batch was refused as a whole (InvalidChangeBatch): Route 53 does
    /// not hold what the plan assumed. Nothing of the batch was applied.
    #[error("Route 53 rejected the change batch: {0}")]
    Rejected(String),
    /// Anything else: access denied, no such zone, bad input.
    #[error("{0}")]
    Fatal(String),
}

/// A change batch Route 53 accepted.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub id: String,
    /// Nothing to wait for: already INSYNC when accepted (emulators say so;
    /// Route 53 says PENDING), or its answer, and so its ID, was lost.
    pub insync: bool,
}

/// One hosted zone. Implementations pace their requests and retry transient
/// failures themselves (see `throttle`); errors that reach the caller are
/// final for this attempt.
pub trait HostedZone {
    /// The hosted zone's ID.
    fn id(&self) -> &str;
    /// Every record set, all pages.
    fn list(&self) -> impl Future<Output = Result<Vec<CurrentSet>, Route53Error>> + Send;
    /// The set at (`name`, `rtype`), in one small request.
    fn get(
        &self,
        name: &Name,
        rtype: RrType,
    ) -> impl Future<Output = Result<Option<RecordSet>, Route53Error>> + Send;
    /// Submits one batch (atomic in Route 53).
    fn change(&self, batch: &Batch)
        -> impl Future<Output = Result<Submitted, Route53Error>> + Send;
    /// Whether change `id` has reached every Route 53 name server.
    fn insync(&self, id: &str) -> impl Future<Output = Result<bool, Route53Error>> + Send;
}

/// Where hosted zones are found: Route 53 through the SDK, or an in-memory
/// double in tests. One shared by all zones: Route 53's rate limit is per
/// account.
pub trait HostedZones: Send + Sync + 'static {
    type Zone: HostedZone + Send + Sync + 'static;

    /// Lists every hosted zone ahead of opening `zones` zones, when that
    /// costs fewer requests than opening them one by one.
    fn prefetch(&self, _zones: usize) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The hosted zone of `zone`: `id` when configured, else found by name.
    /// Never the one a state directory remembers: that one may have been
    /// deleted, or joined by another of the same name. With `role_arn`, in
    /// the account where that role is assumed.
    fn open(
        &self,
        zone: &Name,
        id: Option<&str>,
        role_arn: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<Self::Zone>> + Send;

    /// The names of every hosted zone in the account.
    fn names(&self) -> impl Future<Output = anyhow::Result<BTreeSet<Name>>> + Send;

    /// Creates a public hosted zone for `zone`. `reference` is Route 53's
    /// CallerReference: a retried creation with the same one creates
    /// nothing twice (and returns `None`). Returns the name servers to
    /// delegate to.
    fn create(
        &self,
        zone: &Name,
        reference: &str,
    ) -> impl Future<Output = anyhow::Result<Option<Vec<String>>>> + Send;

    /// Deletes hosted zone `id` of `zone` (DeleteHostedZone), which Route
    /// 53 does only once it holds nothing but its apex SOA and NS.
    fn delete(&self, zone: &Name, id: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
}
