//! Email addresses, validated the way Django's `validate_email` does (dot-atom local part,
//! a domain of hostname labels with an alphabetic TLD, or `localhost`).
//!
//! Written by hand: the crates available either accept far more than Django (RFC 5322 quoted
//! forms, IP literals) or pull in a large dependency for a 60-line check.

use std::fmt;

/// A syntactically valid address. The original spelling is kept (Zulip keeps the case the
/// user typed in `delivery_email`); identity comparisons use [`Email::normalized`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Django's message for an invalid address.
pub const INVALID_EMAIL_MSG: &str = "Enter a valid email address.";

const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || LOCAL_SPECIALS.contains(&b))
}

/// Whether `domain` is a hostname Django would accept in an address.
pub fn valid_domain(domain: &str) -> bool {
    if domain.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let (tld, rest) = labels.split_last().unwrap_or((&"", &[]));
    rest.iter().all(|l| label_ok(l))
        && label_ok(tld)
        && tld.len() >= 2
        && (tld.bytes().all(|b| b.is_ascii_alphabetic())
            || tld.to_ascii_lowercase().starts_with("xn--"))
}

impl Email {
    /// Validate a trimmed address.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let s = raw.trim();
        if s.len() > 254 {
            return Err(INVALID_EMAIL_MSG);
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(INVALID_EMAIL_MSG);
        };
        if valid_local(local) && valid_domain(domain) {
            Ok(Email(s.to_owned()))
        } else {
            Err(INVALID_EMAIL_MSG)
        }
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-cased, for case-insensitive identity (Zulip's `delivery_email__iexact`).
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "Iago@Zulip.COM",
            "x.y+z@sub.example.org",
            "bot-bot@localhost",
            "a@xn--bcher-kva.xn--p1ai",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Email::parse("  A@B.co ").map(|e| e.normalized()),
            Ok("a@b.co".to_owned())
        );
    }

    #[test]
    fn refuses_what_django_refuses() {
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a@127.0.0.1",
            "a..b@c.co",
            ".a@b.co",
            "a@-b.co",
            "a b@c.co",
            "a@b.c",
            "a@b.co:80",
            "é@b.co",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalisation_is_idempotent() {
        let e = Email::parse("MiXeD@Example.COM").unwrap_or_else(|m| panic!("{m}"));
        let again = Email::parse(&e.normalized()).unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(again.normalized(), e.normalized());
        assert_eq!(e.domain(), "Example.COM");
    }
}
