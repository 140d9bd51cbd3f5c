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
        Networks::from_entries(&entries)
    }

    fn from_entries(entries: &[String]) -> Result<Option<Networks>, NetworksError> {
        let entries: Vec<&str> = entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .collect();
        if entries.len() > MAX_NETWORKS {
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
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok((!nets.is_empty()).then(|| Networks(nets.into_boxed_slice())))
    }

    /// From the stored form (`None` when absent or unreadable: a stored list was checked
    /// when written).
    pub fn from_stored(stored: Option<&str>) -> Option<Networks> {
        Networks::parse(stored?).ok().flatten()
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
    fn kinds_round_trip() {
        for kind in [KeyKind::Named, KeyKind::Device, KeyKind::Previous] {
            assert_eq!(KeyKind::from_stored(kind.as_str()), kind);
        }
        assert_eq!(KeyKind::from_stored("other"), KeyKind::Named);
    }
}
