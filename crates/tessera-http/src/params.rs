//! Zulip request parameters: read from the query string on every method and from a
//! form-encoded or multipart body, values JSON-encoded where the parameter is typed; unknown
//! parameters are ignored and listed in `ignored_parameters_unsupported` on success.

use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Largest request body accepted (Zulip's nginx allows uploads of this order; tessera's
/// endpoints take small forms).
pub const MAX_BODY_BYTES: usize = tessera_core::wire::MAX_BODY_BYTES;

/// Largest multipart body accepted: one upload of
/// [`tessera_app::MAX_FILE_UPLOAD_SIZE_MIB`] plus room for the form around it. A larger file
/// inside a body that fits is refused by the upload use-case with Zulip's message.
pub const MAX_MULTIPART_BYTES: usize =
    (tessera_app::MAX_FILE_UPLOAD_SIZE_MIB as usize + 1) * 1024 * 1024;

/// A file sent in a multipart body.
#[derive(Clone)]
pub struct UploadedFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: axum::body::Bytes,
}

impl std::fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedFile")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The parameters of one request and which of them the handler read.
#[derive(Debug, Default)]
pub struct Params {
    /// Body values first (Zulip looks in `request.POST` before `request.GET`).
    values: Vec<(String, String)>,
    /// How many of `values` came from the body.
    body_len: usize,
    used: BTreeSet<String>,
    /// Files of a multipart body (only `POST /user_uploads` reads them).
    files: Vec<UploadedFile>,
}

/// A numeric id in the path (`/drafts/{draft_id}`, `/streams/{stream_id}`); anything else
/// there is Zulip's 404, as a URL its routes do not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| crate::fallback::not_found())?;
        raw.parse::<i64>()
            .map(PathId)
            .map_err(|_| crate::fallback::not_found())
    }
}

/// Parse Zulip's `narrow` (`tessera_core::wire::parse_narrow`), as a 400 on bad shapes.
pub fn parse_narrow(raw: Option<Value>) -> ApiResult<Vec<tessera_core::wire::NarrowTerm>> {
    match raw {
        None => Ok(Vec::new()),
        Some(v) => tessera_core::wire::parse_narrow(v).map_err(ApiError::bad_request),
    }
}

/// When the whole request body must have arrived (set by `serve` for each request; absent in
/// in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// 408: the body did not arrive in time (a trickling client).
pub fn body_timed_out() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "REQUEST_TIMEOUT",
        "The request body did not arrive in time",
    )
}

/// Read a whole body of at most `limit` bytes, by the request's deadline when it has one: 413
/// past the limit, 408 past the deadline.
pub async fn read_body(
    deadline: Option<BodyDeadline>,
    body: Body,
    limit: usize,
) -> ApiResult<axum::body::Bytes> {
    let read = axum::body::to_bytes(body, limit);
    match deadline {
        Some(BodyDeadline(at)) => tokio::time::timeout_at(at, read)
            .await
            .map_err(|_| body_timed_out())?,
        None => read.await,
    }
    .map_err(|_| too_large())
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BAD_REQUEST",
        "Request body too large",
    )
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let multipart = content_type.starts_with("multipart/form-data");
        let limit = if multipart {
            MAX_MULTIPART_BYTES
        } else {
            MAX_BODY_BYTES
        };
        if parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > limit)
        {
            return Err(too_large());
        }
        let bytes = read_body(parts.extensions.get::<BodyDeadline>().copied(), body, limit).await?;
        let mut values: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        if multipart {
            let req = Request::from_parts(parts, Body::from(bytes));
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(|_| ApiError::bad_request("Malformed multipart body"))?;
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|_| ApiError::bad_request("Malformed multipart body"))?
            {
                // Files are not parameters: kept aside for the upload endpoint.
                if let Some(file_name) = field.file_name().map(str::to_owned) {
                    let content_type = field.content_type().unwrap_or("").to_owned();
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|_| ApiError::bad_request("Malformed multipart body"))?;
                    files.push(UploadedFile {
                        file_name,
                        content_type,
                        bytes,
                    });
                    continue;
                }
                let Some(name) = field.name().map(str::to_owned) else {
                    continue;
                };
                let text = field
                    .text()
                    .await
                    .map_err(|_| ApiError::bad_request("Malformed multipart body"))?;
                values.push((name, text));
            }
            let body_len = values.len();
            values.extend(query);
            return Ok(Params {
                values,
                body_len,
                used: BTreeSet::new(),
                files,
            });
        }
        let (values, body_len) = tessera_core::wire::decode_params(
            parts.uri.query().unwrap_or(""),
            &content_type,
            &bytes,
        );
        Ok(Params {
            values,
            body_len,
            used: BTreeSet::new(),
            files: Vec::new(),
        })
    }
}

impl Params {
    /// Build from pairs (tests).
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body_len: pairs.len(),
            used: BTreeSet::new(),
            files: Vec::new(),
        }
    }

    /// The raw value of `name`, if sent. Within one source the last value wins (Django's
    /// `QueryDict`); the body wins over the query string.
    pub fn raw(&mut self, name: &str) -> Option<String> {
        let (body, query) = self.values.split_at(self.body_len.min(self.values.len()));
        let last = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let found = last(body).or_else(|| last(query))?;
        self.used.insert(name.to_owned());
        Some(found)
    }

    /// The files of a multipart body.
    pub fn take_files(&mut self) -> Vec<UploadedFile> {
        std::mem::take(&mut self.files)
    }

    /// A required string parameter (taken raw).
    pub fn required(&mut self, name: &str) -> ApiResult<String> {
        self.raw(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An optional string parameter (taken raw).
    pub fn optional(&mut self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// A JSON-encoded value of any shape.
    pub fn json_value(&mut self, name: &str) -> ApiResult<Option<Value>> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) => tessera_core::wire::json_value(&raw)
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("{name} is not valid JSON"))),
        }
    }

    /// A JSON-encoded integer (`Json[int]`, strict: `true` or `"3"` are not integers).
    pub fn json_int(&mut self, name: &str) -> ApiResult<Option<i64>> {
        match self.json_value(name)? {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(_) => Err(ApiError::bad_request(format!("{name} is not an integer"))),
        }
    }

    /// A JSON-encoded boolean (`Json[bool]`, strict).
    pub fn json_bool(&mut self, name: &str) -> ApiResult<Option<bool>> {
        match self.json_value(name)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(ApiError::bad_request(format!("{name} is not a boolean"))),
        }
    }

    /// A JSON-encoded string (`Json[str]`: the value must be a quoted JSON string).
    pub fn json_string(&mut self, name: &str) -> ApiResult<Option<String>> {
        match self.json_value(name)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::bad_request(format!("{name} is not a string"))),
        }
    }

    /// Names sent but never read, sorted. `client` is always read (Zulip's middleware takes
    /// the client name from it).
    pub fn ignored(&self) -> Vec<String> {
        let sent: BTreeSet<&String> = self.values.iter().map(|(k, _)| k).collect();
        sent.into_iter()
            .filter(|k| {
                !self.used.contains(*k) && !matches!(k.as_str(), "client" | "csrfmiddlewaretoken")
            })
            .cloned()
            .collect()
    }

    /// Zulip's `json_success`: `{"result":"success","msg":"", …data}` plus
    /// `ignored_parameters_unsupported` when something was not read.
    pub fn success(&self, data: Value) -> Response {
        success_with(data, &self.ignored())
    }

    /// The same, for one of the app's typed Zulip objects (its fields are the reply's).
    pub fn success_of(&self, data: &impl serde::Serialize) -> Response {
        match serde_json::to_value(data) {
            Ok(v) => self.success(v),
            Err(e) => ApiError::internal(&e.to_string()).into_response(),
        }
    }

    /// The same, for data already rendered as a JSON object's text (a cached object) and a few
    /// more fields after it.
    pub fn success_with_object(&self, object: &str, more: &[(&str, Value)]) -> Response {
        let mut out = Vec::with_capacity(object.len() + 128);
        out.extend_from_slice(b"{\"result\":\"success\",\"msg\":\"\"");
        let inner = object
            .trim()
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .unwrap_or("")
            .trim();
        if !inner.is_empty() {
            out.push(b',');
            out.extend_from_slice(inner.as_bytes());
        }
        for (k, v) in more {
            out.push(b',');
            write_json(&mut out, k);
            out.push(b':');
            write_json(&mut out, v);
        }
        finish_success(out, &self.ignored())
    }
}

/// A success body with an explicit ignored list (empty: the key is omitted). `result` and
/// `msg` come first (`"success"` and `""` unless `data` has its own), then `data`'s fields in
/// order; written straight to bytes, without building a second map.
pub fn success_with(data: Value, ignored: &[String]) -> Response {
    let mut out = Vec::with_capacity(512);
    let empty = Map::new();
    let map = match &data {
        Value::Object(map) => map,
        _ => &empty,
    };
    out.extend_from_slice(b"{\"result\":");
    match map.get("result") {
        Some(result) => write_json(&mut out, result),
        None => out.extend_from_slice(b"\"success\""),
    }
    out.extend_from_slice(b",\"msg\":");
    match map.get("msg") {
        Some(msg) => write_json(&mut out, msg),
        None => out.extend_from_slice(b"\"\""),
    }
    for (k, v) in map.iter().filter(|(k, _)| *k != "result" && *k != "msg") {
        out.push(b',');
        write_json(&mut out, k);
        out.push(b':');
        write_json(&mut out, v);
    }
    finish_success(out, ignored)
}

/// Close a success body: `ignored_parameters_unsupported` when not empty, `}` and Zulip's
/// newline.
fn finish_success(mut out: Vec<u8>, ignored: &[String]) -> Response {
    if !ignored.is_empty() {
        out.extend_from_slice(b",\"ignored_parameters_unsupported\":");
        write_json(&mut out, &ignored);
    }
    out.extend_from_slice(b"}\n");
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serializing JSON values and strings into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values() {
        let mut p = Params::from_pairs(&[
            ("a", "3"),
            ("b", "true"),
            ("c", "x"),
            ("d", "\"u\""),
            ("e", "\"3\""),
        ]);
        assert_eq!(p.json_int("a").ok().flatten(), Some(3));
        assert_eq!(p.json_bool("b").ok().flatten(), Some(true));
        assert_eq!(
            p.json_int("c").err().map(|e| e.msg),
            Some("c is not valid JSON".to_owned())
        );
        assert_eq!(p.json_string("d").ok().flatten(), Some("u".to_owned()));
        assert_eq!(
            p.json_int("e").err().map(|e| e.msg),
            Some("e is not an integer".to_owned())
        );
        assert_eq!(p.json_int("zz").ok().flatten(), None);
        assert!(p.ignored().is_empty());
        let mut q = Params::from_pairs(&[("x", "1"), ("y", "2")]);
        let _ = q.optional("x");
        assert_eq!(q.ignored(), vec!["y".to_owned()]);
        let missing = q.required("nope").err().map(|e| (e.msg, e.extra));
        assert_eq!(
            missing.as_ref().map(|m| m.0.as_str()),
            Some("Missing 'nope' argument")
        );
    }
}
