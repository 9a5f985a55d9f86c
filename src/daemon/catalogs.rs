//! The `[[catalog]]` tasks, and the zones their members add to the
//! configuration: the daemon runs `effective(loaded)`, whose zones reach
//! the zone tasks through the reload a SIGHUP uses (`Zones::reload`), so a
//! member comes and goes like a `[[zone]]` added or removed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::catalog_delete::{delete_member, Guards};
use super::catalog_task::{catalog_task, MemberSet};
use crate::config::CatalogConfig;
use crate::core::emptying::too_many_removed;
use crate::core::name::Name;
use crate::dns::notify::NotifyEvent;
use crate::dns::primary::Primary;
use crate::engine::state::StateDir;
use crate::loaded::Loaded;
use crate::observe::catalogs::CatalogMetrics;
use crate::route53::HostedZones;

/// The running catalog tasks and the members each last read.
pub struct Catalogs<Z> {
    tasks: BTreeMap<Name, CatalogTask>,
    /// Kept while a catalog's task starts again (a reload): its members
    /// stay synced until it reads the catalog anew.
    members: BTreeMap<Name, BTreeSet<Name>>,
    route53: Arc<Z>,
    updates: mpsc::Sender<MemberSet>,
    metrics: CatalogMetrics,
    /// Removed members whose hosted zones are to be deleted (with their
    /// catalog's `delete_removed`) once their zone tasks have stopped.
    doomed: Vec<(CatalogConfig, Name)>,
    /// Every catalog's members, as last read: a deletion skips a member
    /// that came back meanwhile.
    listed: watch::Sender<BTreeSet<Name>>,
}

struct CatalogTask {
    /// What the task runs on: a reload that changes either restarts it.
    config: CatalogConfig,
    primaries: Vec<Primary>,
    notify: mpsc::Sender<()>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl<Z: HostedZones> Catalogs<Z> {
    /// Starts a task for every catalog of `loaded`; their member sets go
    /// to `updates`.
    pub fn start(
        loaded: &Loaded,
        route53: Arc<Z>,
        metrics: CatalogMetrics,
        updates: mpsc::Sender<MemberSet>,
    ) -> Catalogs<Z> {
        let mut catalogs = Catalogs {
            tasks: BTreeMap::new(),
            members: BTreeMap::new(),
            route53: route53.clone(),
            updates,
            metrics,
            doomed: Vec::new(),
            listed: watch::Sender::new(BTreeSet::new()),
        };
        catalogs.reload(loaded, route53);
        catalogs
    }

    /// Follows a reloaded configuration: a catalog whose settings changed
    /// (or every one, when Route 53 did) starts again and keeps its members
    /// until it has read the catalog; a removed one stops, and its members
    /// are no longer synced.
    pub fn reload(&mut self, loaded: &Loaded, route53: Arc<Z>) {
        let moved = !Arc::ptr_eq(&self.route53, &route53);
        self.route53 = route53;
        let wanted: BTreeMap<&Name, (&CatalogConfig, Vec<Primary>)> = (loaded.config.catalogs)
            .iter()
            .map(|c| (c.name(), (c, loaded.primaries(&c.zone))))
            .collect();
        let stale: Vec<Name> = (self.tasks.iter())
            .filter(|(name, task)| {
                moved || wanted.get(name) != Some(&(&task.config, task.primaries.clone()))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(task) = self.tasks.remove(&name) {
                task.stop();
            }
            if wanted.contains_key(&name) {
                continue;
            }
            self.metrics.remove(&name);
            if let Some(members) = self.members.remove(&name) {
                tracing::warn!(catalog = %name, members = members.len(), "the catalog left the configuration: its members are no longer synced (their hosted zones are left as they are)");
            }
        }
        for (name, (config, primaries)) in wanted {
            if !self.tasks.contains_key(name) {
                self.start_task(config, primaries);
            }
        }
    }

    fn start_task(&mut self, config: &CatalogConfig, primaries: Vec<Primary>) {
        if !self.members.contains_key(config.name()) {
            self.metrics.unread(config.name());
        }
        let (notify, notified) = mpsc::channel(1);
        let (shutdown, stopping) = watch::channel(false);
        let handle = tokio::spawn(catalog_task(
            Arc::new(config.clone()),
            Arc::new(primaries.clone()),
            self.route53.clone(),
            self.updates.clone(),
            self.metrics.clone(),
            notified,
            stopping,
        ));
        let task = CatalogTask {
            config: config.clone(),
            primaries,
            notify,
            shutdown,
            handle,
        };
        self.tasks.insert(config.name().clone(), task);
    }

    /// Passes a NOTIFY for a catalog to its task; false when `event` is
    /// for no catalog.
    pub fn notify(&self, event: &NotifyEvent) -> bool {
        let Some(task) = self.tasks.get(&event.zone) else {
            return false;
        };
        // full: a read is queued already, and reads the newest serial
        let _ = task.notify.try_send(());
        true
    }

    /// Takes a catalog's member set as read: logs what changed and counts
    /// the removals. Whether the members changed.
    pub fn update(&mut self, set: MemberSet, loaded: &Loaded) -> bool {
        let MemberSet { catalog, members } = set;
        // from a task since stopped by a reload
        if !self.tasks.contains_key(&catalog) {
            return false;
        }
        self.metrics.set_members(&catalog, members.len());
        let before = self.members.insert(catalog.clone(), members);
        let listed = self.members.values().flatten().cloned().collect();
        self.listed.send_replace(listed);
        let now = &self.members[&catalog];
        let added: Vec<&Name> = match &before {
            None => {
                tracing::info!(catalog = %catalog, members = now.len(), "catalog read: its members are synced");
                now.iter().collect()
            }
            Some(before) if before == now => return false,
            Some(before) => {
                let removed: Vec<&Name> = before.difference(now).collect();
                self.metrics.count_removed(&catalog, removed.len());
                let doomed = self.doomed(&catalog, before.len(), &removed, loaded);
                self.doomed.extend(doomed);
                let added: Vec<&Name> = now.difference(before).collect();
                for zone in &added {
                    tracing::info!(catalog = %catalog, zone = %zone, "member zone added to the catalog: synced from now on");
                }
                added
            }
        };
        for zone in added {
            if let Some(why) = self.claimed(zone, &catalog, loaded) {
                tracing::info!(catalog = %catalog, zone = %zone, "member zone not taken from this catalog: {why}");
            }
        }
        true
    }

    /// Logs each of `removed` (of `before` members) leaving `catalog`; those
    /// whose hosted zones are to be deleted: with `delete_removed`, within
    /// the guard, and synced by nothing else.
    fn doomed(
        &self,
        catalog: &Name,
        before: usize,
        removed: &[&Name],
        loaded: &Loaded,
    ) -> Vec<(CatalogConfig, Name)> {
        let config = (loaded.config.catalogs.iter()).find(|c| c.name() == catalog);
        let Some(config) = config.filter(|c| c.delete_removed) else {
            for zone in removed {
                tracing::warn!(catalog = %catalog, zone = %zone, "member zone removed from the catalog: no longer synced; its hosted zone in Route 53 is left as it is");
            }
            return Vec::new();
        };
        if let Some(why) = too_many_removed(before, removed.len()) {
            for zone in removed {
                tracing::warn!(catalog = %catalog, zone = %zone, "member zone removed from the catalog: no longer synced; its hosted zone is left as it is (see the error on delete_removed)");
            }
            tracing::error!(catalog = %catalog, "delete_removed: no hosted zone deleted: {why}");
            self.metrics.count_delete_failures(catalog, removed.len());
            return Vec::new();
        }
        let mut doomed = Vec::new();
        for zone in removed {
            if let Some(why) = kept(&self.members, zone, catalog, loaded) {
                tracing::warn!(catalog = %catalog, zone = %zone, "member zone removed from the catalog: its hosted zone is kept, {why}");
                continue;
            }
            tracing::warn!(catalog = %catalog, zone = %zone, "member zone removed from the catalog: no longer synced; its hosted zone is deleted (delete_removed) once its sync has stopped");
            doomed.push((config.clone(), (*zone).clone()));
        }
        doomed
    }

    /// Deletes the hosted zones of the removed members, each once
    /// `stopped` says the zone tasks the last reload stopped have stopped.
    pub fn delete_removed(&mut self, stopped: watch::Receiver<bool>, loaded: &Loaded) {
        let states = StateDir::new(loaded.config.state_path());
        for (catalog, zone) in std::mem::take(&mut self.doomed) {
            let rules = match catalog.member(&zone) {
                Ok(member) => member.rules,
                Err(e) => {
                    tracing::error!(catalog = %catalog.name(), zone = %zone, "removed member's hosted zone not deleted: {e:#}");
                    self.metrics.count_delete_failures(catalog.name(), 1);
                    continue;
                }
            };
            tokio::spawn(delete_member(
                self.route53.clone(),
                rules,
                catalog.name().clone(),
                self.metrics.clone(),
                Guards {
                    stopped: stopped.clone(),
                    states: states.clone(),
                    listed: self.listed.subscribe(),
                },
            ));
        }
    }

    /// What else claims member `zone` of `catalog`, which then keeps it: a
    /// `[[zone]]` (explicit settings win), a catalog name, or an earlier
    /// `[[catalog]]` listing it too.
    fn claimed(&self, zone: &Name, catalog: &Name, loaded: &Loaded) -> Option<String> {
        let config = &loaded.config;
        if config.zones.iter().any(|z| z.rules.zone == *zone) {
            return Some("it is also a [[zone]], synced with that section's settings".into());
        }
        for other in &config.catalogs {
            if other.name() == zone {
                return Some("it is a catalog, never synced".into());
            }
            if other.name() == catalog {
                return None;
            }
            if self
                .members
                .get(other.name())
                .is_some_and(|m| m.contains(zone))
            {
                return Some(format!(
                    "it is also a member of the earlier catalog {}, which syncs it",
                    other.name()
                ));
            }
        }
        None
    }

    /// `loaded` with every catalog member as a zone of its own.
    pub fn effective(&self, loaded: &Loaded) -> Loaded {
        effective(loaded, &self.members)
    }

    /// Stops every catalog task.
    pub fn stop(self) {
        for task in self.tasks.into_values() {
            task.stop();
        }
    }
}

impl CatalogTask {
    /// Stops the task: a read in flight is aborted (a hosted zone it was
    /// creating is created once, by its CallerReference, when read again).
    fn stop(self) {
        let _ = self.shutdown.send(true);
        self.handle.abort();
    }
}

/// What else keeps the hosted zone of `zone`, removed from `catalog`:
/// a `[[zone]]`, or another catalog listing it.
fn kept(
    members: &BTreeMap<Name, BTreeSet<Name>>,
    zone: &Name,
    catalog: &Name,
    loaded: &Loaded,
) -> Option<String> {
    if loaded.config.zones.iter().any(|z| z.rules.zone == *zone) {
        return Some("it is also a [[zone]]".into());
    }
    if loaded.config.catalogs.iter().any(|c| c.name() == zone) {
        return Some("it is a catalog".into());
    }
    (members.iter())
        .find(|(other, members)| *other != catalog && members.contains(zone))
        .map(|(other, _)| format!("it is also a member of catalog {other}"))
}

/// `loaded` with each of `members` (by catalog) as a zone of its own, each
/// once: a `[[zone]]` of that name keeps its own settings, a catalog's
/// name is never synced, and a zone in two catalogs is the first one's.
fn effective(loaded: &Loaded, members: &BTreeMap<Name, BTreeSet<Name>>) -> Loaded {
    let mut effective = loaded.clone();
    let config = &mut effective.config;
    let mut taken: BTreeSet<Name> = (config.zones.iter().map(|z| z.rules.zone.clone()))
        .chain(config.catalogs.iter().map(|c| c.name().clone()))
        .collect();
    for catalog in &loaded.config.catalogs {
        for zone in members.get(catalog.name()).into_iter().flatten() {
            if !taken.insert(zone.clone()) {
                continue;
            }
            match catalog.member(zone) {
                Ok(member) => config.zones.push(member),
                Err(e) => {
                    tracing::error!(catalog = %catalog.name(), zone = %zone, "the member zone is not synced: {e:#}")
                }
            }
        }
    }
    effective
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn name(text: &str) -> Name {
        Name::parse_route53(text).unwrap()
    }

    #[test]
    fn a_removed_member_synced_otherwise_keeps_its_hosted_zone() {
        let text = "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.9\"]\n\n[[catalog]]\nzone = \"one.cat\"\nprimaries = [\"192.0.2.1\"]\ndelete_removed = true\n\n[[catalog]]\nzone = \"two.cat\"\nprimaries = [\"192.0.2.2\"]\n";
        let loaded = Loaded::resolve(Config::parse(text).unwrap()).unwrap();
        let members = BTreeMap::from([
            (name("one.cat"), BTreeSet::new()),
            (name("two.cat"), BTreeSet::from([name("b.test")])),
        ]);
        let one = name("one.cat");
        let kept = |zone: &str| kept(&members, &name(zone), &one, &loaded);
        assert_eq!(kept("a.test").unwrap(), "it is also a [[zone]]");
        assert_eq!(
            kept("b.test").unwrap(),
            "it is also a member of catalog two.cat."
        );
        assert_eq!(kept("two.cat").unwrap(), "it is a catalog");
        assert_eq!(kept("c.test"), None, "deleted");
    }

    #[test]
    fn an_explicit_zone_wins_and_a_zone_is_the_first_catalogs() {
        let text = "[[zone]]\nname = \"a.test\"\nprimaries = [\"192.0.2.9\"]\n\n[[catalog]]\nzone = \"one.cat\"\nprimaries = [\"192.0.2.1\"]\n\n[[catalog]]\nzone = \"two.cat\"\nprimaries = [\"192.0.2.2\"]\n";
        let loaded = Loaded::resolve(Config::parse(text).unwrap()).unwrap();
        let members = BTreeMap::from([
            (
                name("one.cat"),
                BTreeSet::from([name("a.test"), name("b.test"), name("two.cat")]),
            ),
            (
                name("two.cat"),
                BTreeSet::from([name("b.test"), name("c.test")]),
            ),
            // a catalog no longer configured lists nothing
            (name("gone.cat"), BTreeSet::from([name("d.test")])),
        ]);
        let zones = effective(&loaded, &members).config.zones;
        let primary = |zone: &str| {
            let found = zones.iter().find(|z| z.rules.zone == name(zone));
            found.map(|z| z.primaries[0].to_string())
        };
        assert_eq!(zones.len(), 3, "{zones:?}");
        assert_eq!(primary("a.test").unwrap(), "192.0.2.9:53", "explicit");
        assert_eq!(
            primary("b.test").unwrap(),
            "192.0.2.1:53",
            "the first catalog's"
        );
        assert_eq!(primary("c.test").unwrap(), "192.0.2.2:53");
        assert_eq!(primary("two.cat"), None, "a catalog is never synced");
    }
}
