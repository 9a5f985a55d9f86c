//! The per-catalog metric families of `/metrics`: how many members each
//! catalog lists, how many it removed, how often it could not be read, and the hosted
//! zones of removed members deleted or not (`delete_removed`);
//! and for `/readyz`, the catalogs not read yet (their members unknown).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::core::name::Name;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CatalogLabel {
    catalog: String,
}

fn label(catalog: &Name) -> CatalogLabel {
    CatalogLabel {
        catalog: catalog.to_string(),
    }
}

/// Every per-catalog family; clones share their series.
#[derive(Clone, Debug, Default)]
pub struct CatalogMetrics {
    members: Family<CatalogLabel, Gauge>,
    removed: Family<CatalogLabel, Counter>,
    failures: Family<CatalogLabel, Counter>,
    deleted: Family<CatalogLabel, Counter>,
    delete_failures: Family<CatalogLabel, Counter>,
    unread: Arc<Mutex<BTreeSet<Name>>>,
}

impl CatalogMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        let f = self.clone();
        registry.register(
            "catalog_members",
            "Member zones the catalog lists, as last read",
            f.members,
        );
        registry.register("catalog_removed", "Member zones removed from the catalog: no longer synced, their hosted zones left as they are", f.removed);
        registry.register(
            "catalog_failures",
            "Reads of the catalog that failed (no primary answered, a transfer failed, or the catalog is broken): its member set stays as it was",
            f.failures,
        );
        registry.register(
            "catalog_deleted",
            "Hosted zones of removed members emptied and deleted (delete_removed)",
            f.deleted,
        );
        registry.register(
            "catalog_delete_failures",
            "Hosted zones of removed members that could not be emptied or deleted, or whose deletion the guard refused (delete_removed): left as they are, not tried again",
            f.delete_failures,
        );
    }

    /// The catalog's members are not known yet: not ready until read.
    pub fn unread(&self, catalog: &Name) {
        self.unread_set().insert(catalog.clone());
    }

    /// Each catalog not read yet, with why it is not ready.
    pub(super) fn not_ready(&self) -> Vec<String> {
        (self.unread_set().iter())
            .map(|catalog| format!("catalog {catalog}: not read yet, its members are unknown"))
            .collect()
    }

    fn unread_set(&self) -> std::sync::MutexGuard<'_, BTreeSet<Name>> {
        // plain data: whole whatever panicked while it was held
        self.unread.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The catalog lists `count` members; its counters show from now on.
    pub fn set_members(&self, catalog: &Name, count: usize) {
        self.unread_set().remove(catalog);
        let label = label(catalog);
        self.members
            .get_or_create(&label)
            .set(i64::try_from(count).unwrap_or(i64::MAX));
        let _ = self.removed.get_or_create(&label);
        let _ = self.failures.get_or_create(&label);
        let _ = self.deleted.get_or_create(&label);
        let _ = self.delete_failures.get_or_create(&label);
    }

    pub fn count_removed(&self, catalog: &Name, count: usize) {
        self.removed
            .get_or_create(&label(catalog))
            .inc_by(count as u64);
    }

    pub fn count_deleted(&self, catalog: &Name) {
        self.deleted.get_or_create(&label(catalog)).inc();
    }

    pub fn count_delete_failures(&self, catalog: &Name, count: usize) {
        (self.delete_failures.get_or_create(&label(catalog))).inc_by(count as u64);
    }

    pub fn count_failure(&self, catalog: &Name) {
        self.failures.get_or_create(&label(catalog)).inc();
    }

    /// Takes the catalog out of every family (it left the configuration).
    pub fn remove(&self, catalog: &Name) {
        self.unread_set().remove(catalog);
        let label = label(catalog);
        self.members.remove(&label);
        self.removed.remove(&label);
        self.failures.remove(&label);
        self.deleted.remove(&label);
        self.delete_failures.remove(&label);
    }
}
