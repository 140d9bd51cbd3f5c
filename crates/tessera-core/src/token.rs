//! Bearer tokens other than API keys: web session cookies, password-reset links and CSRF
//! tokens. 32 characters of `[0-9A-Za-z]` from the OS CSPRNG (about 190 bits). The server keeps
//! only a keyed digest of session and reset tokens.

use crate::api_key::random_base62;
use std::fmt;
use subtle::ConstantTimeEq;

/// Length of every token.
pub const TOKEN_LENGTH: usize = 32;

/// A token in plaintext; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A fresh random token.
    pub fn generate() -> Token {
        Token(random_base62(TOKEN_LENGTH))
    }

    /// Accept a token of the right shape; anything else is not one of ours.
    pub fn parse(s: &str) -> Option<Token> {
        (s.len() == TOKEN_LENGTH && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Token(s.to_owned()))
    }

    /// The plaintext, for the cookie or the link.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Compare two secrets without an early exit on the first differing byte. Every comparison of
/// a secret the client sent with one the server holds goes through here (or through a digest
/// lookup, which compares only keyed digests).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let t = Token::generate();
        assert_eq!(t.expose().len(), TOKEN_LENGTH);
        assert_eq!(Token::parse(t.expose()), Some(t.clone()));
        assert_eq!(Token::parse("short"), None);
        assert_eq!(Token::parse(&"é".repeat(16)), None);
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_ne!(Token::generate(), t);
    }

    #[test]
    fn equality() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
