//! `/user_uploads`: uploading a file (under `/api/v1` and `/json`), a temporary URL for it,
//! and serving it at `/user_uploads/{realm_id}/{path}` to whoever may read it (web session
//! or HTTP Basic), as Zulip's `serve_file_backend` does.

use crate::auth::{Caller, basic_principal};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::request_info::subdomain;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_app::{App, Download, DownloadRefused, Principal};

/// POST /api/v1/user_uploads (also /json) — upload one file (multipart); answers its `url`
/// (and the deprecated alias `uri`).
pub async fn post_user_uploads(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let files = params
        .take_files()
        .into_iter()
        .map(|f| (f.file_name, f.content_type, f.bytes.to_vec()))
        .collect();
    let uploaded = app.upload_file(&who, files).await?;
    Ok(params.success(json!({ "uri": uploaded.url, "url": uploaded.url })))
}

/// GET /api/v1/user_uploads/{realm_id_str}/{filename} (also /json) — a URL that serves the
/// file without credentials for a minute.
pub async fn get_temporary_url(
    State(app): State<App>,
    Caller(who): Caller,
    Path((realm, file)): Path<(String, String)>,
    params: Params,
) -> Result<Response, Response> {
    let path_id = format!("{realm}/{file}");
    match app
        .temporary_upload_url(&who, &path_id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
    {
        Ok(url) => Ok(params.success(json!({ "url": url }))),
        Err(refused) => Err(refused_page(refused)),
    }
}

/// Whoever asks for a file: a web session, HTTP Basic, or nobody.
pub struct FileViewer(Option<Principal>);

impl FromRequestParts<App> for FileViewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let sub = subdomain(app, parts);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let ip = crate::request_info::client_addr(parts);
            let who = basic_principal(app, &sub, value.as_bytes(), false, ip)
                .await
                .map_err(IntoResponse::into_response)?;
            who.grant
                .require(tessera_core::KeyScope::READ)
                .map_err(|e| ApiError::from(e).into_response())?;
            if let Some(key_id) = who.grant.key_id {
                let client = crate::request_info::client_name(&parts.headers, "/user_uploads");
                app.note_key_use(key_id, &client, ip).await;
            }
            return Ok(FileViewer(Some(who)));
        }
        let (session_name, _) = crate::cookies::cookie_names(app);
        let Some(cookie) = crate::cookies::cookie_value(&parts.headers, session_name) else {
            return Ok(FileViewer(None));
        };
        let session = app
            .session_caller(&sub, &cookie)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        Ok(FileViewer(session.map(|s| s.principal)))
    }
}

/// Zulip's small HTML answers for a file that is not served.
fn refused_page(refused: DownloadRefused) -> Response {
    let (status, body) = match refused {
        DownloadRefused::NotFound => (StatusCode::NOT_FOUND, "<p>File not found.</p>"),
        DownloadRefused::Forbidden => (
            StatusCode::FORBIDDEN,
            "<p>You are not authorized to view this file.</p>",
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The file with its type, `Content-Disposition` (inline only for safe types, or never when
/// `download`), and headers that keep a browser from running it.
fn file_response(d: Download, download: bool) -> Response {
    let a = &d.attachment;
    let mut disposition = tessera_core::uploads::content_disposition(&a.content_type, &a.file_name);
    if download && disposition.starts_with("inline") {
        disposition = disposition.replacen("inline", "attachment", 1);
    }
    let mut r = (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "private, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
        ],
        d.bytes,
    )
        .into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn serve(app: &App, viewer: FileViewer, path_id: &str, download: bool) -> Response {
    match app.download(viewer.0.as_ref(), path_id).await {
        Ok(Ok(d)) => file_response(d, download),
        Ok(Err(refused)) => refused_page(refused),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// GET /user_uploads/{realm_id_str}/{filename} — the file, to its owner and to those who may
/// read a message that links to it.
pub async fn get_user_upload(
    State(app): State<App>,
    viewer: FileViewer,
    Path((realm, file)): Path<(String, String)>,
) -> Response {
    serve(&app, viewer, &format!("{realm}/{file}"), false).await
}

/// GET /user_uploads/download/{realm_id_str}/{filename} — the same, always as a download.
pub async fn get_user_upload_download(
    State(app): State<App>,
    viewer: FileViewer,
    Path((realm, file)): Path<(String, String)>,
) -> Response {
    serve(&app, viewer, &format!("{realm}/{file}"), true).await
}

/// GET /user_uploads/temporary/{token}/{filename} — a file by a temporary URL, without
/// credentials.
pub async fn get_temporary_upload(
    State(app): State<App>,
    Path((token, file)): Path<(String, String)>,
) -> Response {
    match app.temporary_download(&token, &file).await {
        Ok(d) => file_response(d, false),
        Err(e) => ApiError::from(e).into_response(),
    }
}
