//! Zulip's request-parameter encoding, as pure functions (the HTTP layer's `Params` extractor
//! uses them; the fuzz targets exercise them): form bodies and query strings, JSON-encoded
//! typed values, and narrows.

use serde_json::Value;

/// Largest body tessera reads.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Why a JSON-typed parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Not JSON at all.
    NotJson,
    /// JSON of the wrong type (`true` where an integer is expected, `"3"` for an int…).
    WrongType,
}

/// The parameters of a request, body first (it wins), then the query string: only
/// form-encoded bodies (or bodies without a content type) carry parameters here; multipart is
/// decoded by the HTTP layer.
pub fn decode_params(
    query: &str,
    content_type: &str,
    body: &[u8],
) -> (Vec<(String, String)>, usize) {
    let ct = content_type.to_ascii_lowercase();
    let mut values: Vec<(String, String)> = Vec::new();
    if !body.is_empty() && (ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded")) {
        values.extend(form_urlencoded::parse(body).into_owned());
    }
    let body_len = values.len();
    values.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
    (values, body_len)
}

/// Any JSON value.
pub fn json_value(raw: &str) -> Result<Value, WireError> {
    serde_json::from_str(raw).map_err(|_| WireError::NotJson)
}

/// `Json[int]`, strict.
pub fn json_int(raw: &str) -> Result<i64, WireError> {
    match json_value(raw)? {
        Value::Number(n) if n.is_i64() => n.as_i64().ok_or(WireError::WrongType),
        _ => Err(WireError::WrongType),
    }
}

/// `Json[bool]`, strict.
pub fn json_bool(raw: &str) -> Result<bool, WireError> {
    match json_value(raw)? {
        Value::Bool(b) => Ok(b),
        _ => Err(WireError::WrongType),
    }
}

/// `Json[str]`: a quoted JSON string.
pub fn json_string(raw: &str) -> Result<String, WireError> {
    match json_value(raw)? {
        Value::String(s) => Ok(s),
        _ => Err(WireError::WrongType),
    }
}

/// One narrow term.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrowTerm {
    pub operator: String,
    pub operand: Value,
    pub negated: bool,
}

/// Zulip's `narrow`: a list of `{operator, operand, negated}` objects or legacy
/// `[operator, operand]` pairs. The error is Zulip's validation message.
pub fn parse_narrow(raw: Value) -> Result<Vec<NarrowTerm>, String> {
    let Value::Array(items) = raw else {
        return Err("narrow is not a list".into());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Array(pair) if pair.len() == 2 && pair[0].is_string() => Ok(NarrowTerm {
                operator: pair[0].as_str().unwrap_or("").to_owned(),
                operand: pair[1].clone(),
                negated: false,
            }),
            Value::Object(map) => {
                let operator = map
                    .get("operator")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "narrow[operator] is missing".to_owned())?;
                let operand = map
                    .get("operand")
                    .cloned()
                    .ok_or_else(|| "narrow[operand] is missing".to_owned())?;
                Ok(NarrowTerm {
                    operator: operator.to_owned(),
                    operand,
                    negated: map.get("negated").and_then(Value::as_bool).unwrap_or(false),
                })
            }
            _ => Err("element is not a dictionary".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_values_are_strict() {
        assert_eq!(json_int("3"), Ok(3));
        assert_eq!(json_int("\"3\""), Err(WireError::WrongType));
        assert_eq!(json_int("true"), Err(WireError::WrongType));
        assert_eq!(json_int("3.5"), Err(WireError::WrongType));
        assert_eq!(json_int("x"), Err(WireError::NotJson));
        assert_eq!(json_bool("false"), Ok(false));
        assert_eq!(json_bool("0"), Err(WireError::WrongType));
        assert_eq!(json_string("\"a\""), Ok("a".into()));
        assert_eq!(json_string("a"), Err(WireError::NotJson));
    }

    #[test]
    fn body_wins_and_query_follows() {
        let (v, n) = decode_params(
            "a=1&b=2",
            "application/x-www-form-urlencoded; charset=utf-8",
            b"a=3",
        );
        assert_eq!(n, 1);
        assert_eq!(v[0], ("a".into(), "3".into()));
        assert_eq!(v.len(), 3);
        let (v, n) = decode_params("a=1", "application/json", b"{\"a\":2}");
        assert_eq!((v.len(), n), (1, 0));
    }

    #[test]
    fn narrows() {
        let n = parse_narrow(
            json!([["stream", "general"], {"operator": "topic", "operand": "t", "negated": true}]),
        );
        let n = n.unwrap_or_default();
        assert_eq!(n.len(), 2);
        assert!(n[1].negated);
        assert!(parse_narrow(json!("x")).is_err());
        assert!(parse_narrow(json!([1])).is_err());
        assert!(parse_narrow(json!([{"operator": "is"}])).is_err());
    }
}
