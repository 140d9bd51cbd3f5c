//! `tessera healthcheck`: the store answers and, when a server URL is known, the server answers
//! `server_settings` with a success.

use crate::Failure;
use crate::cli::{HealthArgs, StoreArgs};

pub async fn healthcheck(args: &StoreArgs, h: HealthArgs) -> Result<(), Failure> {
    let app = crate::setup::open(args, None).await?;
    app.ping_store().await.map_err(|e| Failure {
        msg: format!("database: {e}"),
        code: 2,
    })?;
    let url = h.url.or_else(|| {
        std::env::var("TESSERA_LISTEN")
            .ok()
            .map(|l| format!("http://{l}"))
    });
    if let Some(url) = url {
        probe(&url).await.map_err(|msg| Failure { msg, code: 2 })?;
        println!("ok: database and {url}");
    } else {
        println!("ok: database");
    }
    Ok(())
}

/// `GET /api/v1/server_settings` with the HTTP client already in the build: a 200 with
/// `"result":"success"` within 5 s.
async fn probe(base: &str) -> Result<(), String> {
    let url = url::Url::parse(base)
        .and_then(|u| u.join("/api/v1/server_settings"))
        .map_err(|e| format!("bad url {base}: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("server at {base} did not answer within 5 s")
        } else {
            format!("cannot connect to {base}: {e}")
        }
    })?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if status.is_success() && body["result"] == "success" {
        Ok(())
    } else {
        Err(format!("server at {base} answered: {status}"))
    }
}
