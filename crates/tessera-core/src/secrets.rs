//! The server secret and what it protects: sealed (recoverable) copies of API keys and service
//! tokens, and HMAC digests used to look keys up.
//!
//! Threat addressed: a copy of the database alone (backup, dump, stolen disk) must contain
//! nothing that authenticates. The digest is keyed, so a dump cannot even confirm a guessed key,
//! and the sealed copy is AEAD ciphertext bound to its row's user id, so it cannot be moved to
//! another account.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Length of the master secret in bytes.
pub const SECRET_LEN: usize = 32;

/// Errors about the secret or sealed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the server secret must be {SECRET_LEN} bytes written as 64 hexadecimal characters")]
    BadSecretFormat,
    #[error("sealed data could not be opened (wrong server secret, or data moved between rows)")]
    OpenFailed,
}

/// The server's master secret. Two independent sub-keys are derived from it, one for the AEAD
/// and one for lookup digests, so neither use can weaken the other.
#[derive(Clone)]
pub struct ServerSecret {
    enc_key: [u8; 32],
    /// HMAC keyed with the lookup sub-key, kept pre-keyed: each digest clones it instead of
    /// hashing the key pads again.
    lookup: HmacSha256,
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    // HMAC as a PRF: sub-key = HMAC(master, label).
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable_hmac());
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[inline]
fn unreachable_hmac() -> HmacSha256 {
    // HMAC accepts keys of any length; this branch cannot be taken.
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

/// A 32-byte HMAC-SHA256 digest used as a lookup key. Reveals nothing about the input without
/// the server secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyDigest(pub [u8; 32]);

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyDigest({}…)", hex::encode(&self.0[..4]))
    }
}

impl KeyDigest {
    /// From stored bytes.
    pub fn from_slice(b: &[u8]) -> Option<KeyDigest> {
        <[u8; 32]>::try_from(b).ok().map(KeyDigest)
    }
}

/// AEAD ciphertext plus its 24-byte nonce.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

/// What a digest or a sealed value is for; part of the MAC input / associated data so a value
/// made for one purpose is useless for another.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    ApiKey,
    ServiceToken,
    Session,
    ResetToken,
    SecretCheck,
    UploadUrl,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::ApiKey => "api_key",
            Purpose::ServiceToken => "service_token",
            Purpose::Session => "session",
            Purpose::ResetToken => "reset_token",
            Purpose::SecretCheck => "secret_check",
            Purpose::UploadUrl => "upload_url",
        }
    }
}

impl ServerSecret {
    /// A fresh random master secret, hex-encoded for the secret file.
    pub fn generate_hex() -> String {
        let mut b = [0u8; SECRET_LEN];
        OsRng.fill_bytes(&mut b);
        hex::encode(b)
    }

    /// Load from the secret file's contents (64 hex characters, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<ServerSecret, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadSecretFormat)?;
        if bytes.len() != SECRET_LEN {
            return Err(SecretError::BadSecretFormat);
        }
        Ok(ServerSecret {
            enc_key: derive(&bytes, b"tessera/v1/aead"),
            lookup: <HmacSha256 as Mac>::new_from_slice(&derive(&bytes, b"tessera/v1/lookup-hmac"))
                .unwrap_or_else(|_| unreachable_hmac()),
        })
    }

    /// Keyed digest of `value` for `purpose`.
    pub fn digest(&self, purpose: Purpose, value: &str) -> KeyDigest {
        let mut mac = self.lookup.clone();
        mac.update(purpose.label().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        KeyDigest(mac.finalize().into_bytes().into())
    }

    /// A value stored in the database at initialisation, so that starting with another secret is
    /// detected instead of silently failing every login.
    pub fn check_value(&self) -> String {
        hex::encode(self.digest(Purpose::SecretCheck, "tessera").0)
    }

    fn aad(purpose: Purpose, owner: i64) -> Vec<u8> {
        format!("{}:{owner}", purpose.label()).into_bytes()
    }

    /// Seal `plaintext` for the row of `owner` (a user id).
    pub fn seal(&self, purpose: Purpose, owner: i64, plaintext: &str) -> SealedSecret {
        let cipher = XChaCha20Poly1305::new((&self.enc_key).into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = Self::aad(purpose, owner);
        // Encryption with a valid key and nonce cannot fail for inputs this small.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        SealedSecret {
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Open a sealed value; fails if the secret, the purpose or the owner differ.
    pub fn open(
        &self,
        purpose: Purpose,
        owner: i64,
        sealed: &SealedSecret,
    ) -> Result<String, SecretError> {
        if sealed.nonce.len() != 24 || sealed.ciphertext.is_empty() {
            return Err(SecretError::OpenFailed);
        }
        let cipher = XChaCha20Poly1305::new((&self.enc_key).into());
        let aad = Self::aad(purpose, owner);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::OpenFailed)?;
        String::from_utf8(plain).map_err(|_| SecretError::OpenFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ServerSecret {
        ServerSecret::from_hex(&ServerSecret::generate_hex()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let s = secret();
        let sealed = s.seal(Purpose::ApiKey, 7, "hello");
        assert_eq!(s.open(Purpose::ApiKey, 7, &sealed), Ok("hello".to_owned()));
        assert!(
            s.open(Purpose::ApiKey, 8, &sealed).is_err(),
            "moved to another user"
        );
        assert!(
            s.open(Purpose::ServiceToken, 7, &sealed).is_err(),
            "other purpose"
        );
        assert!(
            secret().open(Purpose::ApiKey, 7, &sealed).is_err(),
            "other secret"
        );
        assert!(!sealed.ciphertext.windows(5).any(|w| w == b"hello"));
    }

    #[test]
    fn digests_depend_on_secret_and_purpose() {
        let s = secret();
        assert_eq!(
            s.digest(Purpose::ApiKey, "k"),
            s.digest(Purpose::ApiKey, "k")
        );
        assert_ne!(
            s.digest(Purpose::ApiKey, "k"),
            s.digest(Purpose::Session, "k")
        );
        assert_ne!(
            s.digest(Purpose::ApiKey, "k"),
            secret().digest(Purpose::ApiKey, "k")
        );
    }

    #[test]
    fn bad_secret_files() {
        assert!(ServerSecret::from_hex("abc").is_err());
        assert!(ServerSecret::from_hex(&"zz".repeat(32)).is_err());
        assert!(ServerSecret::from_hex(&format!("{}\n", "ab".repeat(32))).is_ok());
        assert!(!format!("{:?}", secret()).contains('0'));
    }
}
