//! Leak reports in GitHub's secret-scanning partner format: a `POST` of
//! `[{"token","type","url","source"}]` whose raw body is signed with ECDSA P-256 (SHA-256, a
//! base64 DER signature in `Github-Public-Key-Signature`, the signing key named by
//! `Github-Public-Key-Identifier`), and the answer, one label per token. The public keys come
//! from a file in the shape GitHub publishes them (`{"public_keys":[{"key_identifier","key",
//! …}]}`), so nothing is fetched from the network. Pure: parsing and verification, no I/O.

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use std::fmt;

/// Why a report is refused. Nothing of a refused report is acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("Missing 'Github-Public-Key-Identifier' or 'Github-Public-Key-Signature' header")]
    Unsigned,
    #[error("Unknown public key identifier")]
    UnknownKey,
    #[error("Invalid signature")]
    BadSignature,
    #[error("Invalid report: {0}")]
    BadBody(String),
}

/// The public keys that may sign reports, by identifier.
#[derive(Clone)]
pub struct PublicKeys(Vec<(String, VerifyingKey)>);

impl fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(id, _)| id))
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct KeyFile {
    public_keys: Vec<KeyEntry>,
}

#[derive(serde::Deserialize)]
struct KeyEntry {
    key_identifier: String,
    key: String,
}

impl PublicKeys {
    /// Read a key file: `{"public_keys":[{"key_identifier": …, "key": "-----BEGIN PUBLIC
    /// KEY-----…"}]}` (other fields, such as `is_current`, are ignored). Every key must be a
    /// P-256 public key in PEM.
    pub fn from_json(text: &str) -> Result<PublicKeys, String> {
        let file: KeyFile = serde_json::from_str(text)
            .map_err(|e| format!("not a secret-scanning key file: {e}"))?;
        let keys = file
            .public_keys
            .into_iter()
            .map(|k| {
                VerifyingKey::from_public_key_pem(k.key.trim())
                    .map(|v| (k.key_identifier.clone(), v))
                    .map_err(|e| {
                        format!("key {:?} is not a P-256 public key: {e}", k.key_identifier)
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("the key file lists no public key".into());
        }
        Ok(PublicKeys(keys))
    }

    /// Check the signature of a report's raw body.
    pub fn verify(
        &self,
        identifier: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), ReportError> {
        let (Some(identifier), Some(signature)) = (identifier, signature) else {
            return Err(ReportError::Unsigned);
        };
        let key = self
            .0
            .iter()
            .find(|(id, _)| id == identifier.trim())
            .map(|(_, k)| k)
            .ok_or(ReportError::UnknownKey)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| ReportError::BadSignature)?;
        let signature = Signature::from_der(&der).map_err(|_| ReportError::BadSignature)?;
        key.verify(body, &signature)
            .map_err(|_| ReportError::BadSignature)
    }
}

/// One token a scanner found. `Debug` leaves the token out.
#[derive(Clone, serde::Deserialize)]
pub struct FoundToken {
    pub token: String,
    #[serde(rename = "type", default)]
    pub token_type: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub source: String,
}

impl fmt::Debug for FoundToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FoundToken")
            .field("type", &self.token_type)
            .field("url", &self.url)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Parse a (verified) report body.
pub fn parse_report(body: &[u8]) -> Result<Vec<FoundToken>, ReportError> {
    serde_json::from_slice(body).map_err(|e| ReportError::BadBody(e.to_string()))
}

/// The answer for one token, in the partner format. The token itself is not echoed: its
/// SHA-256 (hex) names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenVerdict {
    pub token_hash: String,
    pub token_type: String,
    pub label: Label,
}

/// Whether a reported token was a real key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    TruePositive,
    FalsePositive,
}

impl TokenVerdict {
    pub fn new(found: &FoundToken, label: Label) -> TokenVerdict {
        TokenVerdict {
            token_hash: hex::encode(Sha256::digest(found.token.as_bytes())),
            token_type: found.token_type.clone(),
            label,
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn keys() -> (SigningKey, PublicKeys) {
        let sk = SigningKey::random(&mut rand::rngs::OsRng);
        let pem = VerifyingKey::from(&sk)
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default();
        let file = serde_json::json!({"public_keys": [
            {"key_identifier": "k1", "key": pem, "is_current": true}
        ]});
        let keys = PublicKeys::from_json(&file.to_string()).unwrap_or_else(|e| panic!("{e}"));
        (sk, keys)
    }

    fn sign(sk: &SigningKey, body: &[u8]) -> String {
        let sig: Signature = sk.sign(body);
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }

    #[test]
    fn a_good_signature_verifies_and_anything_else_is_refused() {
        let (sk, keys) = keys();
        let body = br#"[{"token":"x","type":"tessera_api_key","url":"u","source":"content"}]"#;
        let sig = sign(&sk, body);
        assert_eq!(keys.verify(Some("k1"), Some(&sig), body), Ok(()));
        assert_eq!(
            keys.verify(Some("k1"), Some(&sig), b"[]"),
            Err(ReportError::BadSignature)
        );
        assert_eq!(
            keys.verify(Some("k2"), Some(&sig), body),
            Err(ReportError::UnknownKey)
        );
        assert_eq!(
            keys.verify(None, Some(&sig), body),
            Err(ReportError::Unsigned)
        );
        assert_eq!(
            keys.verify(Some("k1"), Some("bm90IGEgc2lnbmF0dXJl"), body),
            Err(ReportError::BadSignature)
        );
        let (other, _) = self::keys();
        assert_eq!(
            keys.verify(Some("k1"), Some(&sign(&other, body)), body),
            Err(ReportError::BadSignature)
        );
    }

    #[test]
    fn reports_parse_and_verdicts_hash_the_token() {
        let found = parse_report(br#"[{"token":"abc","type":"t","url":"u","source":"s"}]"#)
            .unwrap_or_default();
        assert_eq!(found.len(), 1);
        assert!(!format!("{:?}", found[0]).contains("abc"));
        let v = TokenVerdict::new(&found[0], Label::TruePositive);
        assert_eq!(
            v.token_hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            serde_json::to_value(&v).unwrap_or_default()["label"],
            "true_positive"
        );
        assert!(matches!(parse_report(b"{}"), Err(ReportError::BadBody(_))));
    }

    #[test]
    fn bad_key_files_are_refused() {
        assert!(PublicKeys::from_json("{}").is_err());
        assert!(PublicKeys::from_json(r#"{"public_keys":[]}"#).is_err());
        assert!(
            PublicKeys::from_json(r#"{"public_keys":[{"key_identifier":"a","key":"nope"}]}"#)
                .is_err()
        );
    }
}
