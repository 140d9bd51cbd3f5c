//! Devices and hand-offs: the mobile and desktop login flows, API-client records (coalesced),
//! the Devices section, "Log out everywhere", key rotation on password change and reset, and
//! the new-login email.

use crate::both;
use crate::helpers::{Browser, OWNER, PASSWORD, TestApp};
use axum::body::Body;
use axum::http::{Method, Request};
use tessera_core::mobile_auth::{desktop_decrypt, otp_decrypt_api_key};

const OTP: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn desktop_data(page: &str) -> String {
    let marker = "<pre id=\"desktop_data\" class=\"email-body\">";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn api_as(
    t: &TestApp,
    ua: &str,
    path: &str,
    auth: (&str, &str),
    form: &[(&str, &str)],
) -> crate::helpers::Resp {
    let method = if form.is_empty() {
        Method::GET
    } else {
        Method::POST
    };
    t.request(method, path, Some(auth), form, &[("user-agent", ua)])
        .await
}

both!(
    mobile_flow_hands_the_key_to_the_app,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        // Bad OTPs are refused before anything else.
        let r = b.get("/login/?mobile_flow_otp=abc").await;
        r.error(400, "BAD_REQUEST", "Invalid OTP");
        let r = b
            .get(&format!(
                "/login/?mobile_flow_otp={OTP}&desktop_flow_otp={OTP}"
            ))
            .await;
        r.error(
            400,
            "BAD_REQUEST",
            "Can't use both mobile_flow_otp and desktop_flow_otp together.",
        );
        let page = b.get(&format!("/login/?mobile_flow_otp={OTP}")).await;
        assert!(
            page.text
                .contains(&format!("name=\"mobile_flow_otp\" value=\"{OTP}\""))
        );
        // A wrong password shows the form again, still carrying the OTP.
        let r = b
            .submit(
                "/accounts/login/",
                &[
                    ("username", OWNER),
                    ("password", "wrong-password"),
                    ("mobile_flow_otp", OTP),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.text.contains("Please enter a correct email"));
        let r = b
            .submit(
                "/accounts/login/",
                &[
                    ("username", OWNER),
                    ("password", PASSWORD),
                    ("mobile_flow_otp", OTP),
                ],
            )
            .await;
        assert_eq!(r.status, 302, "{}", r.text);
        let location = r.header("location").to_owned();
        assert!(
            location.starts_with("zulip://login?otp_encrypted_api_key="),
            "{location}"
        );
        assert!(
            r.headers.get("set-cookie").is_none(),
            "no session for the mobile flow"
        );
        let order: Vec<String> =
            form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
        assert_eq!(
            order,
            ["otp_encrypted_api_key", "email", "user_id", "realm"]
        );
        let enc = query_param(&location, "otp_encrypted_api_key").unwrap();
        // This login's own key (tessera's default): it works, and is not the account key.
        let key = otp_decrypt_api_key(&enc, OTP).unwrap();
        assert_ne!(key, t.owner_key);
        t.get("/api/v1/users/me", Some((OWNER, &key))).await.ok();
        let keys = t.get("/api/v1/users/me/api_keys", Some(t.owner())).await;
        let listed = &keys.ok()["api_keys"][0];
        assert_eq!(
            (listed["kind"].as_str(), listed["name"].as_str()),
            (Some("device"), Some("Zulip mobile app"))
        );
        assert_eq!(query_param(&location, "email").as_deref(), Some(OWNER));
        assert_eq!(query_param(&location, "user_id").as_deref(), Some("1"));
        let settings = t.get("/api/v1/server_settings", None).await;
        assert_eq!(
            query_param(&location, "realm").as_deref(),
            settings.ok()["realm_uri"].as_str()
        );
        // Recorded: audit 9004 and the ZulipMobile client.
        assert!(t.audit_events(1).await.contains(&(9004, Some(1))));
        let clients = t.app.store().api_clients_of(1).await.unwrap();
        assert!(clients.iter().any(|c| c.client == "ZulipMobile"));
    }
);

both!(
    desktop_flow_token_is_single_use_and_short_lived,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        b.get(&format!("/login/?desktop_flow_otp={OTP}")).await;
        let r = b
            .submit(
                "/accounts/login/",
                &[
                    ("username", OWNER),
                    ("password", PASSWORD),
                    ("desktop_flow_otp", OTP),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let data = desktop_data(&r.text);
        let token = desktop_decrypt(&data, OTP).expect("decrypts");
        assert_eq!(token.len(), 32);
        let mut app_browser = Browser::new(&t);
        let r = app_browser
            .get(&format!("/accounts/login/subdomain/{token}"))
            .await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert!(app_browser.cookies.contains_key("sessionid"));
        assert_eq!(
            app_browser
                .get("/settings/account-and-privacy")
                .await
                .status,
            200
        );
        // Spent.
        let mut again = Browser::new(&t);
        assert_eq!(
            again
                .get(&format!("/accounts/login/subdomain/{token}"))
                .await
                .status,
            400
        );
        // Expired after 15 seconds.
        b.get(&format!("/login/?desktop_flow_otp={OTP}")).await;
        let r = b
            .submit(
                "/accounts/login/",
                &[
                    ("username", OWNER),
                    ("password", PASSWORD),
                    ("desktop_flow_otp", OTP),
                ],
            )
            .await;
        let data = desktop_data(&r.text);
        let token = desktop_decrypt(&data, OTP).unwrap();
        t.clock.advance_secs(16.0);
        assert_eq!(
            Browser::new(&t)
                .get(&format!("/accounts/login/subdomain/{token}"))
                .await
                .status,
            400
        );
        assert_eq!(
            Browser::new(&t)
                .get("/accounts/login/subdomain/not-a-token")
                .await
                .status,
            400
        );
    }
);

#[tokio::test]
async fn client_use_is_recorded_at_most_once_a_minute() {
    for engine in [
        tessera_store::Engine::Sqlite,
        tessera_store::Engine::Postgres,
    ] {
        client_use_coalescing(TestApp::with_config(engine, |c| c.api_by_user = (60, 10_000)).await)
            .await;
    }
}

async fn client_use_coalescing(t: TestApp) {
    let before = t.app.use_record_writes();
    for _ in 0..1000 {
        api_as(
            &t,
            "ZulipPython/0.9.1 (Linux)",
            "/api/v1/users/me",
            t.owner(),
            &[],
        )
        .await
        .ok();
    }
    assert_eq!(
        t.app.use_record_writes() - before,
        1,
        "1,000 requests, one write"
    );
    let clients = t.app.store().api_clients_of(1).await.unwrap();
    let first = clients
        .iter()
        .find(|c| c.client == "ZulipPython")
        .cloned()
        .expect("recorded");
    t.clock.advance_secs(61.0);
    api_as(
        &t,
        "ZulipPython/0.9.1 (Linux)",
        "/api/v1/users/me",
        t.owner(),
        &[],
    )
    .await
    .ok();
    api_as(
        &t,
        "ZulipMobile/27.200 (Android 14)",
        "/api/v1/users/me",
        t.owner(),
        &[],
    )
    .await
    .ok();
    assert_eq!(t.app.use_record_writes() - before, 3);
    let clients = t.app.store().api_clients_of(1).await.unwrap();
    let again = clients.iter().find(|c| c.client == "ZulipPython").unwrap();
    assert_eq!(again.first_seen, first.first_seen);
    assert!(again.last_seen > first.last_seen);
    assert!(clients.iter().any(|c| c.client == "ZulipMobile"));
}

both!(
    devices_page_and_log_out_everywhere,
    |t: TestApp| async move {
        // A phone: fetch_api_key, a push registration; a script using the key.
        let r = t
            .request(
                Method::POST,
                "/api/v1/fetch_api_key",
                None,
                &[("username", OWNER), ("password", PASSWORD)],
                &[("user-agent", "ZulipMobile/27.200 (Android 14)")],
            )
            .await;
        let key = r.ok()["api_key"].as_str().unwrap().to_owned();
        api_as(
            &t,
            "ZulipMobile/27.200 (Android 14)",
            "/api/v1/users/me/android_gcm_reg_id",
            (OWNER, &key),
            &[("token", "fcm-token-123456")],
        )
        .await
        .ok();
        api_as(
            &t,
            "ZulipPython/0.9.1",
            "/api/v1/users/me",
            (OWNER, &key),
            &[],
        )
        .await
        .ok();
        let mut other = Browser::new(&t);
        other.login(OWNER, PASSWORD).await;
        let mut me = Browser::new(&t);
        me.login(OWNER, PASSWORD).await;
        let page = me.get("/settings/account-and-privacy").await;
        assert!(
            page.text.contains("class=\"device mobile_device\""),
            "push registration listed"
        );
        assert!(
            page.text.contains("data-client=\"ZulipMobile\"")
                && page.text.contains("data-client=\"ZulipPython\"")
        );
        assert_eq!(page.text.matches("class=\"device web_session\"").count(), 2);
        assert!(page.text.contains("id=\"this_session\""));
        // Signing out the other browser's session.
        let other_id = t
            .app
            .sessions_of(1)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .min()
            .unwrap();
        me.json(
            Method::DELETE,
            &format!("/json/users/me/sessions/{other_id}"),
            &[],
        )
        .await
        .ok();
        assert_eq!(other.get("/settings/account-and-privacy").await.status, 302);
        other.login(OWNER, PASSWORD).await;
        // Log out everywhere: needs the password (a session alone never rotates a key).
        let r = me
            .json(
                Method::POST,
                "/json/users/me/logout_everywhere",
                &[("password", "wrong")],
            )
            .await;
        r.error(400, "BAD_REQUEST", "Password is incorrect.");
        t.get("/api/v1/users/me", Some((OWNER, &key))).await.ok();
        me.json(
            Method::POST,
            "/json/users/me/logout_everywhere",
            &[("password", PASSWORD)],
        )
        .await
        .ok();
        t.get("/api/v1/users/me", Some((OWNER, &key)))
            .await
            .unauthorized("Invalid API key");
        assert!(t.app.store().push_devices_for(1).await.unwrap().is_empty());
        assert_eq!(
            other.get("/settings/account-and-privacy").await.status,
            302,
            "other browser signed out"
        );
        let page = me.get("/settings/account-and-privacy").await;
        assert_eq!(page.status, 200, "this browser stays");
        assert!(page.text.contains("id=\"no_mobile_devices\""));
        assert_eq!(page.text.matches("class=\"device web_session\"").count(), 1);
        let events = t.audit_events(1).await;
        assert!(
            events.contains(&(9003, Some(1)))
                && events.contains(&(127, Some(1)))
                && events.contains(&(9002, Some(1)))
        );
    }
);

both!(
    password_change_and_reset_can_rotate_the_key,
    |t: TestApp| async move {
        api_as(
            &t,
            "ZulipMobile/27.200",
            "/api/v1/users/me/android_gcm_reg_id",
            t.owner(),
            &[("token", "fcm-token-abcdef")],
        )
        .await
        .ok();
        let mut me = Browser::new(&t);
        me.login(OWNER, PASSWORD).await;
        me.get("/settings/account-and-privacy").await;
        // Without the option (Zulip's API): the key stays.
        me.json(
            Method::PATCH,
            "/json/settings",
            &[
                ("old_password", PASSWORD),
                ("new_password", "second-Passw0rd-x"),
            ],
        )
        .await
        .ok();
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
        // With it: the key changes and push registrations go.
        me.json(
            Method::PATCH,
            "/json/settings",
            &[
                ("old_password", "second-Passw0rd-x"),
                ("new_password", "third-Passw0rd-y"),
                ("regenerate_api_key", "true"),
            ],
        )
        .await
        .ok();
        t.get("/api/v1/users/me", Some(t.owner()))
            .await
            .unauthorized("Invalid API key");
        assert!(t.app.store().push_devices_for(1).await.unwrap().is_empty());
        // The reset form's checkbox (ticked by default) does the same.
        let user = t.app.user_row(1).await.unwrap();
        let key = t.app.reveal_api_key(&user).unwrap().expose().to_owned();
        let mut b = Browser::new(&t);
        b.get("/accounts/password/reset/").await;
        b.submit("/accounts/password/reset/", &[("email", OWNER)])
            .await;
        let mails = tessera_app::read_outbox(t.outbox.path());
        let body = &mails
            .iter()
            .find(|m| m.subject.starts_with("Password reset"))
            .unwrap()
            .body;
        let start = body.find("/accounts/password/reset/").unwrap();
        let link = body[start..].split_whitespace().next().unwrap().to_owned();
        let form = b.get(&link).await;
        assert!(form.text.contains(
            "id=\"id_regenerate_api_key\" name=\"regenerate_api_key\" value=\"true\" checked"
        ));
        b.submit(
            &link,
            &[
                ("new_password1", "fourth-Passw0rd-z"),
                ("new_password2", "fourth-Passw0rd-z"),
                ("regenerate_api_key", "true"),
            ],
        )
        .await;
        t.get("/api/v1/users/me", Some((OWNER, &key)))
            .await
            .unauthorized("Invalid API key");
    }
);

both!(
    new_login_email_once_per_new_client,
    |t: TestApp| async move {
        let fetch = |ua: &'static str| {
            let t = &t;
            async move {
                t.request(
                    Method::POST,
                    "/api/v1/fetch_api_key",
                    None,
                    &[("username", OWNER), ("password", PASSWORD)],
                    &[("user-agent", ua)],
                )
                .await
                .ok();
            }
        };
        let notices = |t: &TestApp| {
            tessera_app::read_outbox(t.outbox.path())
                .into_iter()
                .filter(|m| m.subject.starts_with("New login"))
                .collect::<Vec<_>>()
        };
        fetch("ZulipMobile/27.200 (Android 14)").await;
        let mails = notices(&t);
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "New login to your account on Test Org");
        assert!(mails[0].body.contains("Client: ZulipMobile"));
        assert!(
            mails[0]
                .body
                .contains("/settings/account-and-privacy#devices_section")
        );
        fetch("ZulipMobile/27.201 (Android 14)").await;
        assert_eq!(notices(&t).len(), 1, "the same client again: no email");
        // A web login from a new browser.
        let req = Request::builder()
            .method(Method::GET)
            .uri("/login/")
            .header("host", crate::helpers::HOST)
            .body(Body::empty())
            .unwrap();
        let _ = t.send(req).await;
        let mut b = Browser::new(&t);
        b.login(OWNER, PASSWORD).await;
        assert_eq!(notices(&t).len(), 2);
        // Turned off: no more.
        b.get("/settings/account-and-privacy").await;
        b.json(
            Method::PATCH,
            "/json/settings",
            &[("enable_login_emails", "false")],
        )
        .await
        .ok();
        fetch("ZulipFlutter/30.0").await;
        assert_eq!(notices(&t).len(), 2);
        assert!(t.audit_events(1).await.contains(&(132, Some(1))));
    }
);
