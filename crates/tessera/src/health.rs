//! `tessera healthcheck`: the store answers and, when a server URL is known, the server answers
//! `server_settings` with a success.

use crate::Failure;
use crate::cli::{HealthArgs, StoreArgs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A minimal HTTP/1.0 GET of `/api/v1/server_settings` (plain HTTP on a local address; no
/// client library needed for one request).
async fn probe(base: &str) -> Result<(), String> {
    let url = url::Url::parse(base).map_err(|e| format!("bad url {base}: {e}"))?;
    let host = url.host_str().ok_or("url without host")?.to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let fut = async {
        let mut s = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let req = format!("GET /api/v1/server_settings HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf);
        if (text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"))
            && text.contains("\"result\":\"success\"")
        {
            return Ok(());
        }
        Err(format!(
            "server at {base} answered: {}",
            text.lines().next().unwrap_or("")
        ))
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), fut)
        .await
        .map_err(|_| format!("server at {base} did not answer within 5 s"))?
}
