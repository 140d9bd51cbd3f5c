use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use serde_json::Value;
use std::sync::Arc;
use tessera_app::{App, Config, ManualClock};
use tessera_core::Role;
use tessera_store::Engine;
use tessera_store::testing::{TestGuard, fresh_store};
use tower::ServiceExt;

pub const SITE: &str = "http://tessera.test";
pub const HOST: &str = "tessera.test";
pub const OWNER: &str = "owner@tessera.test";
pub const PASSWORD: &str = "tessera-Mosaic-42";

/// Declare a test that runs on both engines.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::helpers::TestApp::new(tessera_store::Engine::Sqlite).await;
                ($body)(t).await;
            }
            #[tokio::test]
            async fn postgres() {
                let t = $crate::helpers::TestApp::new(tessera_store::Engine::Postgres).await;
                ($body)(t).await;
            }
        }
    };
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn msg(&self) -> &str {
        self.body["msg"].as_str().unwrap_or("")
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(self.body["result"], "success", "{}", self.text);
        &self.body
    }
    #[track_caller]
    pub fn error(&self, status: u16, code: &str, msg: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["result"], "error", "{}", self.text);
        assert_eq!(self.code(), code, "{}", self.text);
        assert_eq!(self.msg(), msg, "{}", self.text);
    }
    /// Every Basic-auth failure: 401 UNAUTHORIZED + the challenge, with Zulip's message.
    #[track_caller]
    pub fn unauthorized(&self, msg: &str) {
        self.error(401, "UNAUTHORIZED", msg);
        assert_eq!(self.header("www-authenticate"), "Basic realm=\"zulip\"");
    }
}

pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub owner_key: String,
    pub guard: TestGuard,
    pub secret_hex: String,
    /// Where this app's email goes.
    pub outbox: tempfile::TempDir,
}

pub fn basic(email: &str, key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"))
    )
}

impl TestApp {
    pub async fn new(engine: Engine) -> TestApp {
        Self::with_config(engine, |_| {}).await
    }

    pub async fn with_config(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (store, guard) = fresh_store(engine).await.expect("store");
        let secret_hex = tessera_core::ServerSecret::generate_hex();
        let secret = tessera_core::ServerSecret::from_hex(&secret_hex).expect("secret");
        let mut config = Config::new(SITE.parse().expect("url"));
        let outbox = tempfile::tempdir().expect("outbox");
        config.mail.transport = tessera_app::MailTransport::Outbox(outbox.path().to_owned());
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new());
        let app = App::new(store, secret, config, clock.clone()).expect("app");
        app.bootstrap("Test Org", OWNER, Some("Olive Owner"), PASSWORD)
            .await
            .expect("bootstrap");
        let owner = app.user_by_email(1, OWNER).await.expect("owner");
        let owner_key = app.reveal_api_key(&owner).expect("key").expose().to_owned();
        TestApp {
            app,
            clock,
            owner_key,
            guard,
            secret_hex,
            outbox,
        }
    }

    /// Another App on the same store (another process: the CLI beside the server).
    pub fn sibling(&self) -> App {
        let secret = tessera_core::ServerSecret::from_hex(&self.secret_hex).expect("secret");
        App::new(
            self.app.store().clone(),
            secret,
            self.app.config().clone(),
            self.clock.clone(),
        )
        .expect("app")
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        self.request_at(None, method, path, auth, form, headers)
            .await
    }

    /// [`TestApp::request`] from the peer `peer` (connection info set, as `serve` does).
    pub async fn request_at(
        &self,
        peer: Option<std::net::SocketAddr>,
        method: Method,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST);
        if let Some((email, key)) = auth {
            req = req.header("authorization", basic(email, key));
        }
        let body = if form.is_empty() {
            Body::empty()
        } else {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            let encoded: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            Body::from(encoded)
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(body).expect("request");
        if let Some(peer) = peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        self.send(req).await
    }

    /// The organization's `api_key_per_login` (false: every login gets the account key).
    pub async fn set_key_per_login(&self, on: bool) {
        let value = if on { "true" } else { "false" };
        self.patch(
            "/api/v1/realm",
            self.owner(),
            &[("api_key_per_login", value)],
        )
        .await
        .ok();
    }

    /// Log the owner in as an app with this User-Agent (`fetch_api_key`); the key it gets.
    pub async fn app_login(&self, ua: &str) -> String {
        let r = self
            .request(
                Method::POST,
                "/api/v1/fetch_api_key",
                None,
                &[("username", OWNER), ("password", PASSWORD)],
                &[("user-agent", ua)],
            )
            .await;
        r.ok()["api_key"].as_str().expect("api_key").to_owned()
    }

    pub async fn get(&self, path: &str, auth: Option<(&str, &str)>) -> Resp {
        self.request(Method::GET, path, auth, &[], &[]).await
    }

    pub async fn post(
        &self,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Resp {
        self.request(Method::POST, path, auth, form, &[]).await
    }

    /// `GET /api/v1/users/me` with `auth` from the peer `peer` (`"203.0.113.7:5555"`).
    pub async fn me_from(&self, peer: &str, auth: (&str, &str)) -> Resp {
        let peer = peer.parse().expect("peer address");
        self.request_at(
            Some(peer),
            Method::GET,
            "/api/v1/users/me",
            Some(auth),
            &[],
            &[],
        )
        .await
    }

    /// The names of the live keys `GET /users/me/api_keys` lists for `auth`, newest first.
    pub async fn key_names(&self, auth: (&str, &str)) -> Vec<String> {
        let r = self.get("/api/v1/users/me/api_keys", Some(auth)).await;
        r.ok()["api_keys"]
            .as_array()
            .expect("api_keys")
            .iter()
            .map(|k| k["name"].as_str().expect("name").to_owned())
            .collect()
    }

    /// `DELETE` with no body; the answer as it comes.
    pub async fn delete(&self, path: &str, auth: Option<(&str, &str)>) -> Resp {
        self.request(Method::DELETE, path, auth, &[], &[]).await
    }

    /// `PATCH` a form; the answer as it comes.
    pub async fn patch(&self, path: &str, auth: (&str, &str), form: &[(&str, &str)]) -> Resp {
        self.request(Method::PATCH, path, Some(auth), form, &[])
            .await
    }

    /// Send a channel message that must be accepted; its id.
    pub async fn send_to_channel(
        &self,
        who: (&str, &str),
        to: &str,
        topic: &str,
        content: &str,
    ) -> i64 {
        self.post(
            "/api/v1/messages",
            Some(who),
            &[
                ("type", "stream"),
                ("to", to),
                ("topic", topic),
                ("content", content),
            ],
        )
        .await
        .ok()["id"]
            .as_i64()
            .expect("message id")
    }

    pub fn owner(&self) -> (&str, &str) {
        (OWNER, &self.owner_key)
    }

    /// Create a person; returns (user id, key).
    pub async fn user(&self, email: &str, role: Role) -> (i64, String) {
        let u = self
            .app
            .create_user(1, email, "Some Person", role, Some(PASSWORD), None)
            .await
            .expect("create user");
        (
            u.id,
            self.app
                .reveal_api_key(&u)
                .expect("key")
                .expose()
                .to_owned(),
        )
    }

    /// Create a bot through the API as `owner`; returns (user id, key, email).
    pub async fn bot(
        &self,
        owner: (&str, &str),
        short: &str,
        bot_type: i64,
    ) -> (i64, String, String) {
        let t = bot_type.to_string();
        let name = format!("{short} bot");
        let mut form = vec![
            ("full_name", name.as_str()),
            ("short_name", short),
            ("bot_type", t.as_str()),
        ];
        if bot_type == 4 {
            form.push(("service_name", "helloworld"));
        }
        let r = self.post("/api/v1/bots", Some(owner), &form).await;
        let body = r.ok().clone();
        let id = body["user_id"].as_i64().expect("user_id");
        let email = self.app.user_row(id).await.expect("bot").email;
        (
            id,
            body["api_key"].as_str().expect("api_key").to_owned(),
            email,
        )
    }

    /// `POST /register` with these `event_types` (a JSON list); the queue id.
    pub async fn register_queue(&self, who: (&str, &str), event_types: &str) -> String {
        self.post(
            "/api/v1/register",
            Some(who),
            &[("event_types", event_types)],
        )
        .await
        .ok()["queue_id"]
            .as_str()
            .expect("queue_id")
            .to_owned()
    }

    /// Every event still queued on `queue` (none acknowledged: `last_event_id=-1`), without
    /// heartbeats and without the per-queue `id`.
    pub async fn queued_events(&self, who: (&str, &str), queue: &str) -> Vec<Value> {
        let path = format!("/api/v1/events?queue_id={queue}&last_event_id=-1&dont_block=true");
        let r = self.get(&path, Some(who)).await;
        r.ok()["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["type"] != "heartbeat")
            .map(|e| {
                let mut e = e.clone();
                if let Some(m) = e.as_object_mut() {
                    m.remove("id");
                }
                e
            })
            .collect()
    }

    /// `GET /get_stream_id` for a channel `who` can see.
    pub async fn stream_id(&self, who: (&str, &str), name: &str) -> i64 {
        let r = self
            .get(&format!("/api/v1/get_stream_id?stream={name}"), Some(who))
            .await;
        r.ok()["stream_id"].as_i64().expect("stream_id")
    }

    pub async fn audit_events(&self, user_id: i64) -> Vec<(i64, Option<i64>)> {
        self.app
            .store()
            .audit_for_user(user_id)
            .await
            .expect("audit")
            .into_iter()
            .map(|r| (r.event_type, r.acting_user_id))
            .collect()
    }
}

impl TestApp {
    /// A GET with a specific Host header.
    pub async fn request_host(&self, host: &str, path: &str, auth: Option<(&str, &str)>) -> Resp {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("host", host);
        if let Some((email, key)) = auth {
            req = req.header("authorization", basic(email, key));
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }
}

impl TestApp {
    /// A form POST as if from `peer` (connection info set, as `serve` does).
    pub async fn post_from(
        &self,
        peer: std::net::SocketAddr,
        path: &str,
        form: &[(&str, &str)],
    ) -> Resp {
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(encoded))
            .expect("request");
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(req).await
    }
}

impl TestApp {
    /// A POST with a raw body and content type.
    pub async fn raw_post(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", HOST)
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Send a request through a fresh router and read the response.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = tessera_http::router(self.app.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
}

/// A cookie-keeping client, as a browser: remembers `Set-Cookie`s, sends them back, and reads
/// the CSRF token pages embed.
pub struct Browser<'a> {
    pub t: &'a TestApp,
    pub cookies: std::collections::BTreeMap<String, String>,
    pub csrf: String,
}

impl<'a> Browser<'a> {
    pub fn new(t: &'a TestApp) -> Browser<'a> {
        Browser {
            t,
            cookies: Default::default(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, r: &Resp) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().expect("cookie");
            let first = v.split(';').next().expect("pair");
            let (k, val) = first.split_once('=').expect("k=v");
            if v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        if let Some(i) = r.text.find("name=\"csrf-token\" content=\"") {
            let rest = &r.text[i + 27..];
            self.csrf = rest[..rest.find('"').expect("quote")].to_owned();
        }
    }

    /// A request with this browser's cookies and extra headers.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = if form.is_empty() {
            Body::empty()
        } else {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Body::from(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
        };
        let r = self.t.send(req.body(body).expect("request")).await;
        self.remember(&r);
        r
    }

    /// Navigate to a page.
    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Method::GET, path, &[], &[("accept", "text/html")])
            .await
    }

    /// Submit a page's form: adds the CSRF field.
    pub async fn submit(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone();
        let mut form = form.to_vec();
        form.push(("csrfmiddlewaretoken", csrf.as_str()));
        self.send(Method::POST, path, &form, &[("accept", "text/html")])
            .await
    }

    /// A `/json` call as the web app makes it (X-CSRFToken header).
    pub async fn json(&mut self, method: Method, path: &str, form: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone();
        self.send(
            method,
            path,
            form,
            &[
                ("x-csrftoken", csrf.as_str()),
                ("accept", "application/json"),
            ],
        )
        .await
    }

    /// Open the login page and sign in; returns the login POST's response.
    pub async fn login(&mut self, email: &str, password: &str) -> Resp {
        self.get("/login/").await;
        self.submit(
            "/accounts/login/",
            &[("username", email), ("password", password)],
        )
        .await
    }
}
