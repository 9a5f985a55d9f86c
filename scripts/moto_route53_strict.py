"""moto's server, with Route 53's real rule for ChangeResourceRecordSets.

Usage: .venv/bin/python scripts/moto_route53_strict.py -H 127.0.0.1 -p PORT
(the same flags as moto_server).

Why: moto 5.2.5 (moto/route53/models.py, Route53Backend.
change_resource_record_sets) does not check a batch against the zone. It
checks it against a journal of every change ever sent:
- a CREATE that repeats any earlier identical CREATE is refused whenever any
  set sorts at or after its name and type (it lists from there instead of
  looking the set up), even when the set itself was deleted since;
- a DELETE passes when any earlier CREATE/UPSERT had the same values, then
  removes every set of that name and type without comparing the values
  (and, with a SetIdentifier, every set of that identifier at any name).
So a value changed and changed back (DELETE a + CREATE b, later DELETE b +
CREATE a) is refused on moto, while a DELETE of stale values succeeds.

The patch replaces that method at start-up with the rule the Route 53 API
reference states, checked in order within the batch against the zone as the
earlier changes leave it:
- CREATE of a set that exists (same name, type and SetIdentifier): refused;
- DELETE that does not match an existing set exactly (name, type,
  SetIdentifier, TTL, every value, alias target): refused;
- UPSERT: creates or replaces.
Nothing is applied unless the whole batch passes (batches are atomic).
Everything else (name checks, zone membership, applying) is moto's own.
"""

import sys

from moto.route53 import models
from moto.route53.exceptions import (
    DnsNameInvalidForZone,
    InvalidActionValue,
    ResourceRecordAlreadyExists,
    Route53ClientError,
)
from moto.route53.utils import validate_domain_name


def _key(name, rtype, identifier):
    # Route 53 names are case-insensitive and absolute with or without the dot
    return (name.rstrip(".").lower(), rtype, identifier)


def _stored(rrset):
    """(key, content) of a set moto holds."""
    key = _key(rrset.name, rrset.type, rrset.set_identifier)
    return key, (rrset.ttl, sorted(rrset.records or []), rrset.alias_target)


def _sent(rrset):
    """(key, content) of a set in a change."""
    key = _key(rrset["Name"], rrset["Type"], rrset.get("SetIdentifier"))
    values = sorted(r["Value"] for r in rrset.get("ResourceRecords") or [])
    return key, (rrset.get("TTL"), values, rrset.get("AliasTarget"))


def _invalid(message):
    return Route53ClientError("InvalidChangeBatch", message)


def change_resource_record_sets(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    present = dict(_stored(s) for s in zone.rrsets)
    for change in change_list:
        action = change["Action"]
        rrset = change["ResourceRecordSet"]
        if action not in ("CREATE", "UPSERT", "DELETE"):
            raise InvalidActionValue(action)
        validate_domain_name(rrset["Name"], code="InvalidChangeBatch")
        if not rrset["Name"].strip(".").endswith(zone.name.strip(".")):
            raise DnsNameInvalidForZone(name=rrset["Name"], zone_name=zone.name)
        key, content = _sent(rrset)
        name = rrset["Name"].rstrip(".") + "."
        described = f"[name='{name}', type='{rrset['Type']}']"
        if action == "CREATE":
            if key in present:
                raise ResourceRecordAlreadyExists(name=name, _type=rrset["Type"])
            present[key] = content
        elif action == "UPSERT":
            present[key] = content
        elif key not in present:
            raise _invalid(
                f"Tried to delete resource record set {described} but it was not found"
            )
        elif present[key] != content:
            raise _invalid(
                f"Tried to delete resource record set {described} but the values"
                " provided do not match the current values"
            )
        else:
            del present[key]

    for change in change_list:
        rrset = change["ResourceRecordSet"]
        if not rrset["Name"].endswith("."):
            rrset["Name"] += "."
        # DELETE and UPSERT replace exactly the one set the key names
        key, _ = _sent(rrset)
        zone.rrsets = [s for s in zone.rrsets if _stored(s)[0] != key]
        if change["Action"] == "DELETE":
            continue
        if "ResourceRecords" in rrset:
            rrset["ResourceRecords"] = [r["Value"] for r in rrset["ResourceRecords"]]
        zone.add_rrset(rrset)


models.Route53Backend.change_resource_record_sets = change_resource_record_sets

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
