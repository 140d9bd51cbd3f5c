//! `POST /api/v1/secret_scanning/report`: leak reports in GitHub's secret-scanning partner
//! format. No Zulip credentials: the report is authenticated by its ECDSA signature.

use crate::error::ApiResult;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use tessera_app::App;
use tessera_core::secret_scanning::TokenVerdict;

/// POST /api/v1/secret_scanning/report — a signed JSON array of
/// `{"token","type","url","source"}` (headers `Github-Public-Key-Identifier` and
/// `Github-Public-Key-Signature`) → a JSON array of `{"token_hash","token_type","label"}`;
/// an unsigned or badly signed report is 400 and changes nothing.
pub async fn post_report(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Vec<TokenVerdict>>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verdicts = app
        .report_leaked_keys(
            header("github-public-key-identifier"),
            header("github-public-key-signature"),
            &body,
        )
        .await?;
    Ok(Json(verdicts))
}
