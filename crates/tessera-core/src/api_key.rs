//! Zulip API keys: 32 characters of `[A-Za-z0-9]`.
//!
//! tessera's keys have exactly Zulip's shape, so every client sees an ordinary key, but the
//! last 6 characters are a base62 CRC32 of the first 26 (decision D3). A key that fails the
//! checksum is refused before any cache or store lookup, which makes floods of made-up keys
//! cheap, and a leaked tessera key can be recognised offline by scanners.

use rand::Rng;
use rand::rngs::OsRng;
use std::fmt;

/// Length of every API key, as Zulip's `API_KEY_LENGTH`.
pub const API_KEY_LENGTH: usize = 32;
const RANDOM_PART: usize = 26;
const CHECKSUM_PART: usize = API_KEY_LENGTH - RANDOM_PART;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented string is not a usable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// Not 32 characters of `[A-Za-z0-9]`: Zulip's "Malformed API key".
    #[error("Malformed API key")]
    Malformed,
    /// Right shape, wrong checksum: answered like an unknown key ("Invalid API key"), so the
    /// checksum reveals nothing an attacker could not learn anyway.
    #[error("Invalid API key")]
    BadChecksum,
}

/// An API key in plaintext. Exists only in memory, on the way in or out; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Zulip's `has_api_key_format`: exactly 32 ASCII letters and digits.
pub fn has_api_key_format(s: &str) -> bool {
    s.len() == API_KEY_LENGTH && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Draw `n` characters uniformly from `[0-9A-Za-z]` using the OS CSPRNG.
pub fn random_base62(n: usize) -> String {
    let mut rng = OsRng;
    (0..n)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect()
}

fn checksum(random_part: &str) -> String {
    let mut value = crc32fast::hash(random_part.as_bytes());
    let mut out = [b'0'; CHECKSUM_PART];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

impl ApiKey {
    /// A fresh key: 26 CSPRNG characters (~155 bits) and the 6-character checksum.
    pub fn generate() -> ApiKey {
        let random = random_base62(RANDOM_PART);
        let check = checksum(&random);
        ApiKey(random + &check)
    }

    /// Check a presented key: shape first, then checksum. Surrounding whitespace is stripped,
    /// as Zulip strips it.
    pub fn parse(s: &str) -> Result<ApiKey, ApiKeyError> {
        let s = s.trim();
        if !has_api_key_format(s) {
            return Err(ApiKeyError::Malformed);
        }
        let (random, check) = s.split_at(RANDOM_PART);
        if checksum(random) != check {
            return Err(ApiKeyError::BadChecksum);
        }
        Ok(ApiKey(s.to_owned()))
    }

    /// Rebuild a key opened from the store's sealed copy (already known to be valid).
    pub fn from_trusted(s: String) -> ApiKey {
        ApiKey(s)
    }

    /// The plaintext, for the few places that must hand it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_zulip_shape_and_checksum() {
        for _ in 0..200 {
            let k = ApiKey::generate();
            assert!(has_api_key_format(k.expose()), "{}", k.expose());
            assert_eq!(ApiKey::parse(k.expose()), Ok(k.clone()));
        }
    }

    #[test]
    fn keys_differ() {
        assert_ne!(ApiKey::generate(), ApiKey::generate());
    }

    #[test]
    fn shape_errors_are_malformed() {
        for bad in [
            "",
            "abc",
            &"a".repeat(31),
            &"a".repeat(33),
            &format!("{}_", "a".repeat(31)),
        ] {
            assert_eq!(ApiKey::parse(bad), Err(ApiKeyError::Malformed), "{bad:?}");
        }
        // Non-ASCII letters are not alphanumeric in Zulip's regex either.
        assert_eq!(ApiKey::parse(&"é".repeat(16)), Err(ApiKeyError::Malformed));
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        let k = ApiKey::generate();
        let mut bytes = k.expose().as_bytes().to_vec();
        bytes[3] = if bytes[3] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(ApiKey::parse(&changed), Err(ApiKeyError::BadChecksum));
        assert_eq!(
            ApiKey::parse(&"A".repeat(32)),
            Err(ApiKeyError::BadChecksum)
        );
    }

    #[test]
    fn whitespace_is_stripped() {
        let k = ApiKey::generate();
        assert_eq!(ApiKey::parse(&format!("  {} ", k.expose())), Ok(k));
    }

    #[test]
    fn debug_is_redacted() {
        let k = ApiKey::generate();
        assert!(!format!("{k:?}").contains(k.expose()));
    }
}
