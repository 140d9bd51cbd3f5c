//! What sets a key beside the account key apart: its kind, and the networks it may be used
//! from.
//!
//! On the wire an allow-list is a JSON list of addresses and CIDR blocks
//! (`["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]`); stored, it is the same list in
//! canonical form.

use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

/// The most entries an allow-list may have.
pub const MAX_NETWORKS: usize = 32;

/// Which kind of key beside the account key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Made by a person (Settings, the API or the CLI) with a name, scope and expiry.
    Named,
    /// Handed to one app login (`fetch_api_key`, the mobile hand-off); full scope.
    Device,
    /// A bot's replaced account key, still accepted during an overlap window.
    Previous,
}

impl KeyKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Named => "named",
            KeyKind::Device => "device",
            KeyKind::Previous => "previous",
        }
    }

    /// From the stored name (an unknown name reads as a named key: the most limited kind).
    pub fn from_stored(s: &str) -> KeyKind {
        match s {
            "device" => KeyKind::Device,
            "previous" => KeyKind::Previous,
            _ => KeyKind::Named,
        }
    }
}

/// Why an allow-list was refused (the message is the wire's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworksError {
    #[error("Invalid address or network: {0}")]
    Invalid(String),
    #[error("An allow-list has at most {MAX_NETWORKS} entries.")]
    TooMany,
    #[error("allowed_networks is not a list of strings")]
    NotAList,
}

/// The networks a key may be used from. Never empty: no list means anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networks(Box<[IpNet]>);

impl Networks {
    /// Parse the wire form: a JSON list of strings, or (forms) one string of entries
    /// separated by commas, spaces or new lines. An empty list is `None`: anywhere.
    pub fn parse(raw: &str) -> Result<Option<Networks>, NetworksError> {
        Networks::parse_limited(raw, true)
    }

    fn parse_limited(raw: &str, limited: bool) -> Result<Option<Networks>, NetworksError> {
        let entries: Vec<String> = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(NetworksError::NotAList),
                })
                .collect::<Result<_, _>>()?,
            Ok(Value::String(s)) => split(&s),
            Ok(_) => return Err(NetworksError::NotAList),
            Err(_) => split(raw),
        };
        Networks::from_entries(&entries, limited)
    }

    fn from_entries(entries: &[String], limited: bool) -> Result<Option<Networks>, NetworksError> {
        let entries: Vec<&str> = entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .collect();
        if limited && entries.len() > MAX_NETWORKS {
            return Err(NetworksError::TooMany);
        }
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(NetworksError::Invalid(entry.to_owned())),
                },
            };
            let net = unmapped(net);
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok((!nets.is_empty()).then(|| Networks(nets.into_boxed_slice())))
    }

    /// From the stored form: `None` when the key has no list (anywhere). A stored list that
    /// cannot be read any more allows nothing: an address-bound key never becomes usable from
    /// anywhere by accident. (Stored lists are read without the entry limit of new ones.)
    pub fn from_stored(stored: Option<&str>) -> Option<Networks> {
        let stored = stored?;
        Some(match Networks::parse_limited(stored, false) {
            Ok(Some(nets)) => nets,
            Ok(None) | Err(_) => Networks(Box::default()),
        })
    }

    /// Whether `ip` is in one of the networks (an IPv4 address written as IPv6, `::ffff:a.b.c.d`,
    /// counts as the IPv4 address).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether every network of this list lies inside one of `outer`'s (a key made with an
    /// address-bound key may only narrow its list).
    pub fn within(&self, outer: &Networks) -> bool {
        self.0
            .iter()
            .all(|net| outer.0.iter().any(|o| o.contains(net)))
    }

    /// The entries in canonical form (a single address without its prefix length).
    pub fn entries(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|net| {
                if net.prefix_len() == net.max_prefix_len() {
                    net.addr().to_string()
                } else {
                    net.to_string()
                }
            })
            .collect()
    }

    /// The stored form: the canonical entries as a JSON list.
    pub fn to_stored(&self) -> String {
        Value::from(self.entries()).to_string()
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:203.0.113.0/120`) as the IPv4 network it is, so it
/// matches the IPv4 addresses that clients' mapped addresses are read as.
fn unmapped(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(n) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(n);
    }
    net
}

fn split(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n', '\r', '\t'])
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lists_are_parsed_in_every_wire_form() {
        let json = Networks::parse(r#"["203.0.113.7", "10.1.2.3/8", "2001:db8::1/32"]"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            json.entries(),
            ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]
        );
        let text = Networks::parse("203.0.113.7, 10.0.0.0/8\n2001:db8::/32")
            .unwrap()
            .unwrap();
        assert_eq!(text, json);
        assert_eq!(
            Networks::from_stored(Some(&json.to_stored())),
            Some(json.clone())
        );
        assert_eq!(Networks::parse("[]").unwrap(), None);
        assert_eq!(Networks::parse("").unwrap(), None);
        assert_eq!(Networks::parse("\"\"").unwrap(), None);
    }

    #[test]
    fn bad_lists_are_named() {
        assert_eq!(
            Networks::parse(r#"["10.0.0.0/33"]"#),
            Err(NetworksError::Invalid("10.0.0.0/33".into()))
        );
        assert_eq!(
            Networks::parse("example.com"),
            Err(NetworksError::Invalid("example.com".into()))
        );
        assert_eq!(Networks::parse("[1]"), Err(NetworksError::NotAList));
        assert_eq!(Networks::parse("{}"), Err(NetworksError::NotAList));
        let many: Vec<String> = (0..=MAX_NETWORKS).map(|i| format!("10.0.0.{i}")).collect();
        assert_eq!(
            Networks::parse(&Value::from(many).to_string()),
            Err(NetworksError::TooMany)
        );
    }

    #[test]
    fn membership() {
        let nets = Networks::parse(r#"["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]"#)
            .unwrap()
            .unwrap();
        assert!(nets.allows(ip("203.0.113.7")));
        assert!(!nets.allows(ip("203.0.113.8")));
        assert!(nets.allows(ip("10.200.0.1")));
        assert!(nets.allows(ip("::ffff:10.0.0.1")));
        assert!(nets.allows(ip("2001:db8:1::5")));
        assert!(!nets.allows(ip("2001:db9::1")));
        assert!(!nets.allows(ip("127.0.0.1")));
    }

    #[test]
    fn narrower_lists() {
        let list = |raw: &str| Networks::parse(raw).unwrap().unwrap();
        let outer = list("10.0.0.0/8, 203.0.113.7");
        assert!(list("10.1.0.0/16, 203.0.113.7").within(&outer));
        assert!(list("::ffff:10.2.3.4").within(&outer));
        assert!(!list("10.0.0.0/7").within(&outer));
        assert!(!list("10.1.0.0/16, 203.0.113.8").within(&outer));
        assert!(!list("2001:db8::1").within(&outer));
        assert!(!list("10.1.0.0/16").within(&Networks::from_stored(Some("junk")).unwrap()));
    }

    #[test]
    fn mapped_entries_and_unreadable_stored_lists() {
        let mapped = Networks::parse("::ffff:203.0.113.7, ::ffff:10.0.0.0/104")
            .unwrap()
            .unwrap();
        assert_eq!(mapped.entries(), ["203.0.113.7", "10.0.0.0/8"]);
        assert!(mapped.allows(ip("203.0.113.7")) && mapped.allows(ip("::ffff:10.1.1.1")));
        // A stored list that no longer parses allows nothing (never anywhere)...
        let broken = Networks::from_stored(Some("[\"not an address\"]")).unwrap();
        assert!(!broken.allows(ip("127.0.0.1")) && !broken.allows(ip("::1")));
        assert!(Networks::from_stored(Some("{}")).is_some());
        // ...and a long stored list is read whole (the limit is for new lists).
        let many: Vec<String> = (0..40).map(|i| format!("10.0.1.{i}")).collect();
        let stored = Value::from(many).to_string();
        assert!(
            Networks::from_stored(Some(&stored))
                .unwrap()
                .allows(ip("10.0.1.39"))
        );
        assert_eq!(Networks::from_stored(None), None);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [KeyKind::Named, KeyKind::Device, KeyKind::Previous] {
            assert_eq!(KeyKind::from_stored(kind.as_str()), kind);
        }
        assert_eq!(KeyKind::from_stored("other"), KeyKind::Named);
    }
}
