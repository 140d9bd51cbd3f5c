//! The layers around every route: logging each 500 once, Zulip's rate-limit headers, and the
//! client's address behind trusted proxies.

use axum::http::HeaderName;
use tessera_app::App;

/// Log each 500 once, with the cause its handler attached (inside the request's span, so
/// with method and path).
pub(crate) async fn log_internal_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let resp = next.run(req).await;
    if let Some(crate::error::InternalDetail(detail)) =
        resp.extensions().get::<crate::error::InternalDetail>()
    {
        tracing::error!(detail = %detail, status = resp.status().as_u16(), "internal error");
    }
    resp
}

/// The path as logged: a temporary upload URL's token is a credential, so it is left out.
pub(crate) fn loggable_path(path: &str) -> &str {
    if path.starts_with("/user_uploads/temporary/") {
        "/user_uploads/temporary/…"
    } else {
        path
    }
}

/// Zulip's `RateLimitMiddleware`: `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch
/// seconds) on every response whose request was counted against a limit.
pub(crate) async fn rate_limit_headers(
    axum::extract::State(app): axum::extract::State<App>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = crate::auth::RateLimitSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut resp = next.run(req).await;
    let info = *slot.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(info) = info {
        let reset = (app.now() as f64 / 1e6 + info.reset_after.max(0.0)) as i64;
        let h = resp.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", info.limit.to_string()),
            ("x-ratelimit-remaining", info.remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
        ] {
            if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
    }
    resp
}

/// The client's address behind trusted reverse proxies (`--trusted-proxies`): when the
/// connection comes from one, `X-Forwarded-For` is walked right to left — each hop named
/// there passed the request to the one after it — for as long as the address reached so far
/// is a trusted proxy; the first address that is not becomes the request's peer
/// (`ConnectInfo`), so the use log, rate limits and key allow-lists see the client, not the
/// proxy. An entry that is not an address (`unknown`, garbage) ends the walk at the last
/// trusted hop: nothing to its left, which the client may have written, is believed. A header
/// from anyone else is ignored: a client cannot choose its own address.
pub(crate) async fn real_client_addr(
    axum::extract::State(app): axum::extract::State<App>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(trusted) = &app.config().trusted_proxies
        && let Some(peer) = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
        && trusted.allows(peer.ip())
    {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer.ip();
        for entry in forwarded.iter().rev() {
            if !trusted.allows(client) {
                break;
            }
            match forwarded_addr(entry) {
                Some(ip) => client = ip,
                None => break,
            }
        }
        if client != peer.ip() {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                    client,
                    peer.port(),
                )));
        }
    }
    next.run(req).await
}

/// One `X-Forwarded-For` entry as an address: `203.0.113.7`, `2001:db8::1`, and the forms
/// some proxies write with a port, `203.0.113.7:5555` and `[2001:db8::1]:5555`.
fn forwarded_addr(entry: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip())
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse().ok()
        })
}

#[cfg(test)]
mod tests {
    use super::forwarded_addr;

    #[test]
    fn forwarded_entries() {
        for (entry, want) in [
            ("203.0.113.7", Some("203.0.113.7")),
            ("203.0.113.7:5555", Some("203.0.113.7")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]:5555", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("unknown", None),
            ("", None),
        ] {
            assert_eq!(
                forwarded_addr(entry),
                want.map(|w| w.parse().unwrap()),
                "{entry}"
            );
        }
    }
}
