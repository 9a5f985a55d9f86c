//! The account's hosted zones, listed once when the daemon starts many
//! zones: 100 a page, so a thousand zones are found in ten requests
//! rather than a thousand (at 5 a second, the difference between two
//! seconds and over three minutes). Each entry is used once: a zone looked
//! up again (after a failure, or a reload) asks Route 53 afresh, and the
//! listing serves only the start-up it was made for (`FRESH`), so a hosted
//! zone deleted and created again since is never missed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_route53::Client;

use super::aws::classify;
use super::throttle::Throttle;
use super::Route53Error;
use crate::core::name::Name;

/// The most hosted zones one ListHostedZonesByName page holds.
const PAGE: i32 = 100;

/// How long a listing answers: the start-up's lookups, not later ones.
const FRESH: Duration = Duration::from_secs(300);

/// A hosted zone as listed.
#[derive(Clone, Debug)]
pub struct Listed {
    pub id: String,
    pub private: bool,
}

/// Hosted zones by name, from one listing (and when it was made), each
/// taken at most once.
#[derive(Default)]
pub struct Directory(Mutex<Option<(Instant, ByName)>>);

type ByName = HashMap<Name, Vec<Listed>>;

impl Directory {
    /// Lists every hosted zone when that costs fewer requests than looking
    /// up `zones` zones one by one (one request says how many there are).
    /// A failure is logged: each zone is then looked up on its own.
    pub async fn fill(&self, client: &Client, throttle: &Throttle, zones: usize) {
        match list_when_cheaper(client, throttle, zones).await {
            Ok(Some(listed)) => {
                tracing::info!(
                    hosted_zones = listed.values().map(Vec::len).sum::<usize>(),
                    "listed the account's hosted zones"
                );
                *self.0.lock().expect("not poisoned") = Some((Instant::now(), listed));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("listing the account's hosted zones failed ({e}); each zone is looked up on its own"),
        }
    }

    /// The hosted zone of `zone` (with `id` when configured) as listed,
    /// taken out of the directory; `None` when the listing cannot say
    /// (not listed, taken already, or `id` not among those of its name).
    pub fn take(&self, zone: &Name, id: Option<&str>) -> Option<Result<String, Route53Error>> {
        let mut directory = self.0.lock().expect("not poisoned");
        let (made, zones) = directory.as_mut()?;
        if made.elapsed() > FRESH {
            *directory = None;
            return None;
        }
        let listed = zones.remove(zone)?;
        match id {
            Some(id) => listed
                .iter()
                .any(|l| l.id == id)
                .then(|| Ok(id.to_string())),
            None => Some(only(zone, &listed)),
        }
    }
}

/// The one hosted zone named `zone` among `listed`, or an error naming
/// them all.
pub fn only(zone: &Name, listed: &[Listed]) -> Result<String, Route53Error> {
    match listed {
        [one] => Ok(one.id.clone()),
        [] => Err(Route53Error::Fatal(format!(
            "no hosted zone is named {zone}: create it, or set hosted_zone_id"
        ))),
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|l| {
                    let kind = if l.private { "private" } else { "public" };
                    format!("{} ({kind})", l.id)
                })
                .collect();
            Err(Route53Error::Fatal(format!(
                "{} hosted zones are named {zone}: {}; set hosted_zone_id to the one to keep in sync",
                several.len(),
                ids.join(", ")
            )))
        }
    }
}

/// Every hosted zone by name, when listing them all takes fewer requests
/// than `zones` lookups.
async fn list_when_cheaper(
    client: &Client,
    throttle: &Throttle,
    zones: usize,
) -> Result<Option<ByName>, Route53Error> {
    if zones < 2 {
        return Ok(None);
    }
    let count = throttle
        .run("GetHostedZoneCount", || async {
            client
                .get_hosted_zone_count()
                .send()
                .await
                .map_err(|e| classify("GetHostedZoneCount", e))
        })
        .await?
        .hosted_zone_count();
    let pages = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .div_ceil(PAGE as usize);
    if pages >= zones {
        return Ok(None);
    }
    let mut listed = ByName::new();
    let mut next: Option<(String, String)> = None;
    loop {
        let page = throttle
            .run("ListHostedZonesByName", || async {
                let (name, id) = next.clone().unzip();
                client
                    .list_hosted_zones_by_name()
                    .set_dns_name(name)
                    .set_hosted_zone_id(id)
                    .max_items(PAGE)
                    .send()
                    .await
                    .map_err(|e| classify("ListHostedZonesByName", e))
            })
            .await?;
        for zone in page.hosted_zones() {
            // a name Route 53 lists but xfr53 cannot parse is no configured zone
            if let Ok(name) = Name::parse_route53(zone.name()) {
                listed.entry(name).or_default().push(Listed {
                    id: zone.id().trim_start_matches("/hostedzone/").to_string(),
                    private: zone.config().is_some_and(|c| c.private_zone()),
                });
            }
        }
        next = match (page.next_dns_name(), page.next_hosted_zone_id()) {
            (Some(name), Some(id)) if page.is_truncated() => Some((name.into(), id.into())),
            _ => return Ok(Some(listed)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse_route53(text).unwrap()
    }

    fn listed(id: &str, private: bool) -> Listed {
        Listed {
            id: id.into(),
            private,
        }
    }

    #[test]
    fn each_entry_is_taken_once_and_ambiguity_is_named() {
        let directory = Directory::default();
        *directory.0.lock().unwrap() = Some((
            Instant::now(),
            HashMap::from([
                (name("a.test."), vec![listed("Z1", false)]),
                (
                    name("b.test."),
                    vec![listed("Z2", false), listed("Z3", true)],
                ),
                (name("c.test."), vec![listed("Z4", false)]),
            ]),
        ));
        assert_eq!(
            directory.take(&name("a.test."), None).unwrap().unwrap(),
            "Z1"
        );
        assert!(
            directory.take(&name("a.test."), None).is_none(),
            "taken once"
        );
        let several = directory.take(&name("b.test."), None).unwrap().unwrap_err();
        assert!(
            several.to_string().contains("Z2 (public), Z3 (private)"),
            "{several}"
        );
        // a configured id not listed under the name: the listing cannot say
        assert!(directory.take(&name("c.test."), Some("Z9")).is_none());
        assert!(directory.take(&name("d.test."), None).is_none());
        // an old listing answers nothing
        let made = Instant::now() - FRESH - Duration::from_secs(1);
        let zones = HashMap::from([(name("e.test."), vec![listed("Z5", false)])]);
        *directory.0.lock().unwrap() = Some((made, zones));
        assert!(directory.take(&name("e.test."), None).is_none());
    }
}
