//! What a named API key may do: a set of operation groups. The account key (Zulip's one key)
//! and web sessions have every group; a named key has the groups it was created with.
//!
//! On the wire a scope is `"full"`, `"read"`, `"send"`, or a JSON list of group names.

use serde_json::Value;

/// A set of operation groups, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyScope(u8);

/// The operation groups, by wire name, in the order they are listed.
const GROUPS: [(&str, KeyScope); 6] = [
    ("read", KeyScope::READ),
    ("send", KeyScope::SEND),
    ("messages", KeyScope::MESSAGES),
    ("channels", KeyScope::CHANNELS),
    ("settings", KeyScope::SETTINGS),
    ("admin", KeyScope::ADMIN),
];

/// Why a scope parameter was refused (the message is the wire's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("Invalid scope: {0}")]
    Unknown(String),
    #[error("A key's scope needs at least one operation group.")]
    Empty,
}

impl KeyScope {
    /// Reads: every `GET`, `register`, event polling and queue deletion, rendering a preview.
    pub const READ: KeyScope = KeyScope(1);
    /// Sending: messages, reactions, typing notifications, uploads, incoming webhooks.
    pub const SEND: KeyScope = KeyScope(2);
    /// Changing messages: edits, deletions, flags.
    pub const MESSAGES: KeyScope = KeyScope(4);
    /// Channels and subscriptions.
    pub const CHANNELS: KeyScope = KeyScope(8);
    /// The caller's own settings, status, presence and personal data.
    pub const SETTINGS: KeyScope = KeyScope(16);
    /// Everything else: users, bots, the organization, groups.
    pub const ADMIN: KeyScope = KeyScope(32);
    /// Every group, and what only a full key may do (manage keys, reveal keys).
    pub const FULL: KeyScope = KeyScope(63);

    /// The stored form.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// From the stored form (unknown bits are dropped).
    pub fn from_bits(bits: i64) -> KeyScope {
        KeyScope(u8::try_from(bits & 63).unwrap_or(0))
    }

    /// Whether every group of `need` is in this scope.
    pub fn allows(self, need: KeyScope) -> bool {
        self.0 & need.0 == need.0
    }

    /// The wire names of its groups, in order.
    pub fn group_names(self) -> Vec<&'static str> {
        GROUPS
            .iter()
            .filter(|(_, g)| self.allows(*g))
            .map(|(n, _)| *n)
            .collect()
    }

    /// A short name for what a request needed, for the refusal's message.
    pub fn describe(self) -> String {
        if self == KeyScope::FULL {
            return "full".to_owned();
        }
        self.group_names().join(", ")
    }

    /// The wire form: `"full"`, a lone group's name, or the list of group names.
    pub fn to_json(self) -> Value {
        if self == KeyScope::FULL {
            return Value::from("full");
        }
        let names = self.group_names();
        match names.as_slice() {
            [one] => Value::from(*one),
            _ => Value::from(names),
        }
    }

    /// Parse the wire form (also accepted: a plain name not JSON-quoted, as form values are).
    pub fn parse(raw: &str) -> Result<KeyScope, ScopeError> {
        let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::from(raw));
        KeyScope::from_json(&value)
    }

    fn from_json(value: &Value) -> Result<KeyScope, ScopeError> {
        let named = |name: &str| -> Result<KeyScope, ScopeError> {
            if name == "full" {
                return Ok(KeyScope::FULL);
            }
            GROUPS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, g)| *g)
                .ok_or_else(|| ScopeError::Unknown(name.to_owned()))
        };
        match value {
            Value::String(s) => named(s),
            Value::Array(items) => {
                let mut bits = 0u8;
                for item in items {
                    let name = item
                        .as_str()
                        .ok_or_else(|| ScopeError::Unknown(item.to_string()))?;
                    bits |= named(name)?.0;
                }
                if bits == 0 {
                    return Err(ScopeError::Empty);
                }
                Ok(KeyScope(bits))
            }
            other => Err(ScopeError::Unknown(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_round_trip() {
        for raw in [
            "\"full\"",
            "\"read\"",
            "\"send\"",
            "[\"read\",\"channels\"]",
        ] {
            let scope = KeyScope::parse(raw).unwrap();
            assert_eq!(scope.to_json().to_string(), raw);
            assert_eq!(KeyScope::from_bits(scope.bits()), scope);
        }
        assert_eq!(KeyScope::parse("read").unwrap(), KeyScope::READ);
        assert_eq!(
            KeyScope::parse("[\"read\",\"send\",\"messages\",\"channels\",\"settings\",\"admin\"]")
                .unwrap(),
            KeyScope::FULL
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(KeyScope::parse("[]"), Err(ScopeError::Empty));
        assert_eq!(
            KeyScope::parse("\"write\""),
            Err(ScopeError::Unknown("write".into()))
        );
        assert!(KeyScope::parse("[1]").is_err());
        assert!(KeyScope::parse("{}").is_err());
    }

    #[test]
    fn allows_is_subset() {
        assert!(KeyScope::FULL.allows(KeyScope::ADMIN));
        assert!(!KeyScope::READ.allows(KeyScope::SEND));
        assert!(!KeyScope::SEND.allows(KeyScope::FULL));
        let both = KeyScope::parse("[\"read\",\"send\"]").unwrap();
        assert!(both.allows(KeyScope::READ) && both.allows(KeyScope::SEND));
    }
}
