//! The REST/XML shapes of the Route 53 API (2013-04-01) the double reads
//! and writes.

use roxmltree::Node;

use super::super::http::{xml_escape, Response};
use super::model::{Alias, Change, Data, Held, Key, Zone};

pub const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn child<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(tag))
}

fn text(node: Node, tag: &str) -> Option<String> {
    child(node, tag).map(|n| n.text().unwrap_or("").to_string())
}

/// The Changes of a ChangeResourceRecordSets body.
pub fn changes(body: &str) -> Result<Vec<Change>, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| format!("not XML: {e}"))?;
    let number = |node: Node, tag: &str| -> Result<Option<i64>, String> {
        text(node, tag)
            .map(|t| {
                t.trim()
                    .parse()
                    .map_err(|_| format!("{tag} {t:?} is not a number"))
            })
            .transpose()
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("Change"))
        .map(|c| {
            let set = child(c, "ResourceRecordSet").ok_or("a Change without ResourceRecordSet")?;
            let alias = child(set, "AliasTarget").map(|a| Alias {
                zone_id: text(a, "HostedZoneId").unwrap_or_default(),
                dns_name: text(a, "DNSName").unwrap_or_default(),
                evaluate: text(a, "EvaluateTargetHealth").as_deref() == Some("true"),
            });
            let values = child(set, "ResourceRecords")
                .map(|records| {
                    records
                        .descendants()
                        .filter(|n| n.has_tag_name("Value"))
                        .map(|v| v.text().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            Ok(Change {
                action: text(c, "Action").unwrap_or_default(),
                name: text(set, "Name").unwrap_or_default(),
                rtype: text(set, "Type").unwrap_or_default(),
                identifier: text(set, "SetIdentifier"),
                weight: number(set, "Weight")?.map(|w| w.max(0) as u64),
                ttl: number(set, "TTL")?,
                values,
                alias,
            })
        })
        .collect()
}

/// One ResourceRecordSet of a listing; values in the reverse of the order
/// they were written, so a client cannot depend on that order.
pub fn set(key: &Key, held: &Held) -> String {
    let mut out = format!(
        "<ResourceRecordSet><Name>{}</Name><Type>{}</Type>",
        xml_escape(&key.name.render()),
        key.rtype
    );
    if let Some(identifier) = &key.identifier {
        out.push_str(&format!(
            "<SetIdentifier>{}</SetIdentifier>",
            xml_escape(identifier)
        ));
    }
    if let Some(weight) = held.weight {
        out.push_str(&format!("<Weight>{weight}</Weight>"));
    }
    match &held.data {
        Data::Records { ttl, values } => {
            out.push_str(&format!("<TTL>{ttl}</TTL><ResourceRecords>"));
            for value in values.iter().rev() {
                out.push_str(&format!(
                    "<ResourceRecord><Value>{}</Value></ResourceRecord>",
                    xml_escape(value)
                ));
            }
            out.push_str("</ResourceRecords>");
        }
        Data::Alias(alias) => out.push_str(&format!(
            "<AliasTarget><HostedZoneId>{}</HostedZoneId><DNSName>{}</DNSName><EvaluateTargetHealth>{}</EvaluateTargetHealth></AliasTarget>",
            xml_escape(&alias.zone_id),
            xml_escape(&alias.dns_name),
            alias.evaluate
        )),
    }
    out.push_str("</ResourceRecordSet>");
    out
}

pub fn zone(zone: &Zone) -> String {
    format!(
        "<HostedZone><Id>/hostedzone/{}</Id><Name>{}</Name><CallerReference>test</CallerReference><Config><PrivateZone>{}</PrivateZone></Config><ResourceRecordSetCount>{}</ResourceRecordSetCount></HostedZone>",
        zone.id,
        xml_escape(&zone.name.render()),
        zone.private,
        zone.sets().len()
    )
}

pub fn ok(body: String) -> Response {
    Response::Reply {
        status: 200,
        body: format!("<?xml version=\"1.0\"?>\n{body}"),
    }
}

pub fn error(status: u16, code: &str, message: &str) -> Response {
    Response::Reply {
        status,
        body: format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>strict</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    }
}
