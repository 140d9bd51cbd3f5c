//! Parsing of `Authorization: Basic …` exactly as Zulip's `get_basic_credentials`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why an `Authorization` header did not yield credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicAuthError {
    /// The scheme is not `Basic` (Zulip answers 400, "This endpoint requires HTTP basic
    /// authentication.").
    NotBasic,
    /// Anything else wrong: "Invalid authorization header for basic auth" (401).
    Invalid,
}

/// Username and key as sent; neither is validated here.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub api_key: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// Parse a raw header value.
///
/// Zulip splits on whitespace and wants exactly two tokens, compares the scheme
/// case-insensitively, base64-decodes strictly, requires valid UTF-8 (no lossy decoding, so two
/// different byte strings never compare equal), and requires exactly one `:` (a key never
/// contains one). The Beanstalk quirk turns `%40` in the username into `@`.
pub fn parse_basic(header: &[u8]) -> Result<BasicCredentials, BasicAuthError> {
    let text = std::str::from_utf8(header).map_err(|_| BasicAuthError::Invalid)?;
    let mut tokens = text.split_whitespace();
    let (Some(scheme), Some(payload), None) = (tokens.next(), tokens.next(), tokens.next()) else {
        return Err(BasicAuthError::Invalid);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicAuthError::NotBasic);
    }
    let decoded = STANDARD
        .decode(payload)
        .map_err(|_| BasicAuthError::Invalid)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicAuthError::Invalid)?;
    let mut parts = decoded.split(':');
    let (Some(username), Some(api_key), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(BasicAuthError::Invalid);
    };
    Ok(BasicCredentials {
        username: username.replace("%40", "@"),
        api_key: api_key.to_owned(),
    })
}

/// Build a header value (used by tests and the CLI health check).
pub fn encode_basic(username: &str, api_key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{api_key}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Result<BasicCredentials, BasicAuthError> {
        parse_basic(s.as_bytes())
    }

    #[test]
    fn round_trip() {
        let c = header(&encode_basic("a@b.c", "KEY")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.username, "a@b.c");
        assert_eq!(c.api_key, "KEY");
    }

    #[test]
    fn scheme_is_case_insensitive_and_others_are_not_basic() {
        assert!(header(&encode_basic("a", "b").replace("Basic", "bAsIc")).is_ok());
        assert_eq!(header("Bearer abc"), Err(BasicAuthError::NotBasic));
    }

    #[test]
    fn classic_parser_bugs_are_refused() {
        // Empty payload, scheme alone, three tokens, extra spaces are fine (split on runs).
        assert_eq!(header("Basic"), Err(BasicAuthError::Invalid));
        assert_eq!(header("Basic "), Err(BasicAuthError::Invalid));
        assert_eq!(header(""), Err(BasicAuthError::Invalid));
        assert_eq!(header("Basic a b"), Err(BasicAuthError::Invalid));
        assert!(header(&encode_basic("u", "k").replace(' ', "   ")).is_ok());
        // Invalid base64 is never treated as empty credentials.
        assert_eq!(header("Basic !!!!"), Err(BasicAuthError::Invalid));
        // No colon, two colons.
        assert_eq!(header("Basic dXNlcg=="), Err(BasicAuthError::Invalid));
        assert_eq!(
            header(&encode_basic("a:b", "c")),
            Err(BasicAuthError::Invalid)
        );
        // Invalid UTF-8 inside the payload is refused, not decoded lossily.
        let bad = format!("Basic {}", STANDARD.encode([b'u', b':', 0xff, 0xfe]));
        assert_eq!(header(&bad), Err(BasicAuthError::Invalid));
        assert_eq!(parse_basic(&[0xff, 0x20]), Err(BasicAuthError::Invalid));
    }

    #[test]
    fn beanstalk_username_quirk() {
        let c = header(&encode_basic("a%40b.c", "k")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.username, "a@b.c");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = header(&encode_basic("a", "sekrit")).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!format!("{c:?}").contains("sekrit"));
    }
}
