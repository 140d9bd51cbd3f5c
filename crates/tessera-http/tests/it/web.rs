//! The web UI's server side: login/logout, session cookies, CSRF on forms and `/json`, the
//! settings pages, `POST /json/fetch_api_key` and `PATCH /json/settings`.

use crate::both;
use crate::helpers::{Browser, OWNER, PASSWORD, TestApp};
use axum::http::Method;
use tessera_core::Role;

both!(
    login_sets_hardened_cookies_and_follows_local_next,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        let page = b.get("/login/?next=/settings/your-bots").await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("Log in to Test Org"));
        assert!(
            page.text
                .contains(r#"name="next" value="/settings/your-bots""#)
        );
        let csrf_cookie = page.header("set-cookie").to_owned();
        assert!(csrf_cookie.starts_with("csrftoken="), "{csrf_cookie}");
        assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));
        let before = b.cookies["csrftoken"].clone();
        let r = b
            .submit(
                "/accounts/login/",
                &[
                    ("username", OWNER),
                    ("password", PASSWORD),
                    ("next", "/settings/your-bots"),
                ],
            )
            .await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), "/settings/your-bots");
        let cookies: Vec<&str> = r
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("sessionid="))
            .expect("session cookie");
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
            assert!(session.contains(flag), "{session} lacks {flag}");
        }
        assert!(!session.contains("Secure"), "http site: no Secure flag");
        assert_ne!(
            b.cookies["csrftoken"], before,
            "login rotates the CSRF token"
        );
        // The store keeps only a digest of the session token.
        let token = b.cookies["sessionid"].clone();
        assert_eq!(token.len(), 32);
        let sessions = t.app.sessions_of(1).await.unwrap();
        assert_eq!(sessions.len(), 1);
        // Signed in: the settings page shows the user.
        let page = b.get("/settings/account-and-privacy").await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("Manage your API key"));
        assert!(page.text.contains(OWNER));
    }
);

both!(next_never_leaves_the_site, |t: TestApp| async move {
    for evil in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let mut b = Browser::new(&t);
        b.get("/login/").await;
        let r = b
            .submit(
                "/accounts/login/",
                &[("username", OWNER), ("password", PASSWORD), ("next", evil)],
            )
            .await;
        assert_eq!(r.status, 302);
        assert_eq!(
            r.header("location"),
            "/settings/account-and-privacy",
            "{evil}"
        );
    }
});

both!(
    wrong_password_and_unknown_user_look_the_same,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        let wrong = b.login(OWNER, "not-the-password").await;
        let unknown = b.login("nobody@tessera.test", "not-the-password").await;
        for r in [&wrong, &unknown] {
            assert_eq!(r.status, 200);
            assert!(r.text.contains("Please enter a correct email and password. Note that both fields may be case-sensitive."), "{}", r.text);
            assert!(
                r.headers
                    .get_all("set-cookie")
                    .iter()
                    .all(|c| !c.to_str().unwrap().starts_with("sessionid="))
            );
        }
        assert!(t.app.sessions_of(1).await.unwrap().is_empty());
    }
);

both!(
    login_is_rate_limited_per_username,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        for _ in 0..5 {
            let r = b.login(OWNER, "wrong-password").await;
            assert!(r.text.contains("Please enter a correct email"));
        }
        // Even the right password is refused until the window passes (Zulip counts every attempt).
        let r = b.login(OWNER, PASSWORD).await;
        assert_eq!(r.status, 200);
        assert!(
            r.text
                .contains("making too many attempts to sign in. Try again in 1800 seconds"),
            "{}",
            r.text
        );
        // fetch_api_key shares the limiter.
        let api = t
            .post(
                "/api/v1/fetch_api_key",
                None,
                &[("username", OWNER), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(api.code(), "RATE_LIMIT_HIT");
        t.clock.advance_secs(1801.0);
        let r = b.login(OWNER, PASSWORD).await;
        assert_eq!(r.status, 302, "{}", r.text);
    }
);

both!(login_form_requires_csrf, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.get("/login/").await;
    // No token field.
    let r = b
        .send(
            Method::POST,
            "/accounts/login/",
            &[("username", OWNER), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("CSRF token missing."), "{}", r.text);
    // A token that is not the cookie's.
    let r = b
        .send(
            Method::POST,
            "/accounts/login/",
            &[
                ("username", OWNER),
                ("password", PASSWORD),
                ("csrfmiddlewaretoken", "A".repeat(32).as_str()),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text.contains("CSRF token from POST incorrect."),
        "{}",
        r.text
    );
    // No cookie at all.
    let mut fresh = Browser::new(&t);
    let r = fresh
        .send(
            Method::POST,
            "/accounts/login/",
            &[("username", OWNER), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("CSRF cookie not set."));
    assert!(
        t.app.sessions_of(1).await.unwrap().is_empty(),
        "no session opened"
    );
});

both!(json_needs_session_and_csrf, |t: TestApp| async move {
    // No session: 401 with the Session challenge.
    let mut b = Browser::new(&t);
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[("accept", "application/json")],
        )
        .await;
    r.error(
        401,
        "UNAUTHORIZED",
        "Not logged in: API authentication or user session required",
    );
    assert_eq!(r.header("www-authenticate"), "Session realm=\"zulip\"");
    assert_eq!(b.login(OWNER, PASSWORD).await.status, 302);
    b.get("/settings/account-and-privacy").await;
    // Session without the CSRF header: Zulip's 403.
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[],
        )
        .await;
    r.error(403, "CSRF_FAILED", "CSRF error: CSRF token missing.");
    assert_eq!(r.body["reason"], "CSRF token missing.");
    // A bad header token.
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[("x-csrftoken", "B".repeat(32).as_str())],
        )
        .await;
    r.error(
        403,
        "CSRF_FAILED",
        "CSRF error: CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
    );
    // A foreign Origin.
    let csrf = b.csrf.clone();
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[
                ("x-csrftoken", csrf.as_str()),
                ("origin", "http://evil.example"),
            ],
        )
        .await;
    r.error(
        403,
        "CSRF_FAILED",
        "CSRF error: Origin checking failed - http://evil.example does not match any trusted origins.",
    );
    // The real thing, with this site's Origin.
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[
                ("x-csrftoken", csrf.as_str()),
                ("origin", "http://tessera.test"),
            ],
        )
        .await;
    let body = r.ok();
    assert_eq!(body["api_key"], t.owner_key.as_str());
    assert_eq!(body["email"], OWNER);
    assert!(
        body.get("user_id").is_none(),
        "Zulip's web variant has no user_id"
    );
    // GET needs no CSRF token.
    b.get("/json/users/me").await.ok();
});

both!(
    json_fetch_api_key_wrong_password_and_limit,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        b.login(OWNER, PASSWORD).await;
        b.get("/settings/account-and-privacy").await;
        for _ in 0..5 {
            let r = b
                .json(
                    Method::POST,
                    "/json/fetch_api_key",
                    &[("password", "nope-nope-nope")],
                )
                .await;
            r.error(400, "BAD_REQUEST", "Password is incorrect.");
        }
        let r = b
            .json(
                Method::POST,
                "/json/fetch_api_key",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status, 429, "{}", r.text);
        assert_eq!(r.code(), "RATE_LIMIT_HIT");
        // GET is not served (POST only, as Zulip).
        let r = b.get("/json/fetch_api_key").await;
        assert_eq!(r.status, 405);
    }
);

both!(
    web_session_cannot_regenerate_own_key,
    |t: TestApp| async move {
        // CVE-2021-3967: a browser session alone cannot rotate the key; Zulip has no /json route.
        let mut b = Browser::new(&t);
        b.login(OWNER, PASSWORD).await;
        b.get("/settings/account-and-privacy").await;
        let r = b
            .json(Method::POST, "/json/users/me/api_key/regenerate", &[])
            .await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = b
            .json(Method::POST, "/api/v1/users/me/api_key/regenerate", &[])
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        // The key is unchanged.
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    }
);

both!(logout_ends_the_session, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.login(OWNER, PASSWORD).await;
    let page = b.get("/settings/account-and-privacy").await;
    assert!(page.text.contains("id=\"logout_button\""));
    let stolen = b.cookies["sessionid"].clone();
    // GET is refused (Zulip's logout is POST only).
    assert_eq!(b.get("/accounts/logout/").await.status, 405);
    let r = b.submit("/accounts/logout/", &[]).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/login/");
    assert!(!b.cookies.contains_key("sessionid"), "cookie cleared");
    let r = b.get("/settings/account-and-privacy").await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        "/login/?next=%2Fsettings%2Faccount-and-privacy"
    );
    // The old token is dead server-side too, not just forgotten by the browser.
    b.cookies.insert("sessionid".into(), stolen);
    assert_eq!(b.get("/settings/account-and-privacy").await.status, 302);
    assert!(t.app.sessions_of(1).await.unwrap().is_empty());
});

both!(sessions_expire_after_two_weeks, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.login(OWNER, PASSWORD).await;
    assert_eq!(b.get("/settings/account-and-privacy").await.status, 200);
    t.clock.advance_secs((14 * 24 * 3600 - 60) as f64);
    assert_eq!(b.get("/settings/account-and-privacy").await.status, 200);
    t.clock.advance_secs(120.0);
    let r = b.get("/settings/account-and-privacy").await;
    assert_eq!(r.status, 302, "expired session is signed out");
    let r = b.json(Method::GET, "/json/users/me", &[]).await;
    assert_eq!(r.status, 401);
});

both!(deactivation_ends_sessions, |t: TestApp| async move {
    // CVE-2016-4427: a deactivated user keeps no credential.
    let (id, _) = t.user("member@tessera.test", Role::Member).await;
    let mut b = Browser::new(&t);
    assert_eq!(b.login("member@tessera.test", PASSWORD).await.status, 302);
    b.get("/settings/account-and-privacy").await;
    let user = t.app.user_row(id).await.unwrap();
    t.app.deactivate_user(&user, 1).await.unwrap();
    assert!(t.app.sessions_of(id).await.unwrap().is_empty());
    assert_eq!(b.get("/settings/account-and-privacy").await.status, 302);
    let r = b
        .json(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 401);
    // And cannot sign in again.
    let r = b.login("member@tessera.test", PASSWORD).await;
    assert!(
        r.text
            .contains("Your account member@tessera.test has been deactivated."),
        "{}",
        r.text
    );
});

both!(settings_tabs_and_bot_tables, |t: TestApp| async move {
    let (bot_id, _, bot_email) = t.bot(t.owner(), "helper", 1).await;
    let (member_id, member_key) = t.user("member@tessera.test", Role::Member).await;
    let (mbot_id, _, _) = t.bot(("member@tessera.test", &member_key), "mine", 2).await;
    let _ = member_id;
    // Signed out: every settings URL sends you to the login page and back.
    let mut anon = Browser::new(&t);
    let r = anon.get("/settings/your-bots").await;
    assert_eq!(r.header("location"), "/login/?next=%2Fsettings%2Fyour-bots");
    // The owner sees their bot in Your bots, and everyone's in All bots.
    let mut owner = Browser::new(&t);
    owner.login(OWNER, PASSWORD).await;
    let yours = owner.get("/settings/your-bots").await;
    assert_eq!(yours.status, 200);
    assert!(yours.text.contains(&format!("data-bot-id=\"{bot_id}\"")));
    assert!(!yours.text.contains(&format!("data-bot-id=\"{mbot_id}\"")));
    for col in ["Name", "Email", "Bot type", "Owner", "Actions"] {
        assert!(
            yours
                .text
                .contains(&format!("<th scope=\"col\">{col}</th>")),
            "{col}"
        );
    }
    assert!(yours.text.contains("aria-label=\"Manage bot\""));
    assert!(yours.text.contains(&bot_email));
    let all = owner.get("/settings/all-bots").await;
    assert!(all.text.contains(&format!("data-bot-id=\"{mbot_id}\"")));
    assert!(all.text.contains("Incoming webhook"));
    // A member: no All bots tab, and the owner's bot is not listed.
    let mut member = Browser::new(&t);
    member.login("member@tessera.test", PASSWORD).await;
    let theirs = member.get("/settings/your-bots").await;
    assert!(theirs.text.contains(&format!("data-bot-id=\"{mbot_id}\"")));
    assert!(!theirs.text.contains(&format!("data-bot-id=\"{bot_id}\"")));
    assert!(!theirs.text.contains("tab_all_bots"));
    let r = member.get("/settings/all-bots").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/settings/your-bots");
    // A member cannot reveal the owner's bot's key through the web session either.
    let r = member
        .json(Method::GET, &format!("/json/bots/{bot_id}/api_key"), &[])
        .await;
    r.error(400, "BAD_REQUEST", "Insufficient permission");
    let r = member.get(&format!("/json/bots/{bot_id}/zuliprc")).await;
    assert_eq!(r.status, 400);
    // Unknown tabs are a 404 page.
    assert_eq!(owner.get("/settings/nope").await.status, 404);
});

both!(web_bot_key_flow, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.login(OWNER, PASSWORD).await;
    b.get("/settings/your-bots").await;
    let r = b
        .json(
            Method::POST,
            "/json/bots",
            &[
                ("bot_type", "1"),
                ("full_name", "Cookie Bot"),
                ("short_name", "cookie"),
            ],
        )
        .await;
    let id = r.ok()["user_id"].as_i64().unwrap();
    let key = b
        .json(Method::GET, &format!("/json/bots/{id}/api_key"), &[])
        .await
        .ok()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = "cookie-bot@tessera.test";
    t.get("/api/v1/users/me", Some((email, &key))).await.ok();
    // Regenerating needs CSRF like every state change.
    let r = b
        .send(
            Method::POST,
            &format!("/json/bots/{id}/api_key/regenerate"),
            &[],
            &[],
        )
        .await;
    assert_eq!(r.code(), "CSRF_FAILED");
    t.get("/api/v1/users/me", Some((email, &key))).await.ok();
    let new = b
        .json(
            Method::POST,
            &format!("/json/bots/{id}/api_key/regenerate"),
            &[],
        )
        .await
        .ok()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, key);
    t.get("/api/v1/users/me", Some((email, &key)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((email, &new))).await.ok();
    let rc = b.get(&format!("/json/bots/{id}/zuliprc")).await;
    assert_eq!(
        rc.text,
        format!("[api]\nemail={email}\nkey={new}\nsite=http://tessera.test\n")
    );
});

both!(change_password_in_settings, |t: TestApp| async move {
    let mut here = Browser::new(&t);
    here.login(OWNER, PASSWORD).await;
    here.get("/settings/account-and-privacy").await;
    let mut elsewhere = Browser::new(&t);
    elsewhere.login(OWNER, PASSWORD).await;
    assert_eq!(
        elsewhere.get("/settings/account-and-privacy").await.status,
        200
    );
    let r = here
        .json(
            Method::PATCH,
            "/json/settings",
            &[
                ("old_password", "wrong-one"),
                ("new_password", "a-New-passw0rd-here"),
            ],
        )
        .await;
    r.error(400, "BAD_REQUEST", "Wrong password!");
    let r = here
        .json(
            Method::PATCH,
            "/json/settings",
            &[("old_password", PASSWORD), ("new_password", "abc")],
        )
        .await;
    r.error(400, "BAD_REQUEST", "New password is too weak!");
    let r = here
        .json(
            Method::PATCH,
            "/json/settings",
            &[
                ("old_password", PASSWORD),
                ("new_password", "a-New-passw0rd-here"),
                ("email", "new-address@tessera.test"),
            ],
        )
        .await;
    let body = r.ok();
    // Email changes are not offered: the parameter is reported, as Zulip reports unknown ones.
    assert_eq!(
        body["ignored_parameters_unsupported"],
        serde_json::json!(["email"])
    );
    // This session stays; the other one ended.
    assert_eq!(here.get("/settings/account-and-privacy").await.status, 200);
    assert_eq!(
        elsewhere.get("/settings/account-and-privacy").await.status,
        302
    );
    // The new password works, the old does not.
    let api = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", OWNER), ("password", "a-New-passw0rd-here")],
        )
        .await;
    api.ok();
    let api = t
        .post(
            "/api/v1/fetch_api_key",
            None,
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(api.code(), "AUTHENTICATION_FAILED");
    // Audit 122, by the user.
    assert!(t.audit_events(1).await.contains(&(122, Some(1))));
});

both!(pages_are_self_contained, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    let page = b.get("/login/").await;
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(!page.text.contains("src=\"http"), "no external scripts");
    assert!(
        !page.text.contains("href=\"http"),
        "no external links or fonts"
    );
    let css = b.get("/static/tessera.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert!(!css.text.contains("@import") && !css.text.contains("url(http"));
    let js = b.get("/static/tessera.js").await;
    assert_eq!(js.status, 200);
    assert!(js.text.contains("/json/fetch_api_key"));
    assert_eq!(b.get("/static/nope.js").await.status, 404);
});

#[tokio::test]
async fn https_site_hardens_cookies_and_checks_referer() {
    let t = TestApp::with_config(tessera_store::Engine::Sqlite, |c| {
        c.site_url = "https://tessera.test".parse().unwrap();
    })
    .await;
    let mut b = Browser::new(&t);
    let page = b.get("/login/").await;
    let csrf = page.header("set-cookie").to_owned();
    assert!(
        csrf.starts_with("__Host-csrftoken=") && csrf.contains("; Secure"),
        "{csrf}"
    );
    // No Origin and no Referer on an https site: Django's Referer check refuses.
    let r = b
        .submit(
            "/accounts/login/",
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text.contains("Referer checking failed - no Referer."),
        "{}",
        r.text
    );
    let token = b.csrf.clone();
    let form = [
        ("username", OWNER),
        ("password", PASSWORD),
        ("csrfmiddlewaretoken", token.as_str()),
    ];
    let r = b
        .send(
            Method::POST,
            "/accounts/login/",
            &form,
            &[("referer", "https://evil.example/login/")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text.contains("does not match any trusted origins"),
        "{}",
        r.text
    );
    let r = b
        .send(
            Method::POST,
            "/accounts/login/",
            &form,
            &[("referer", "https://tessera.test/login/")],
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-sessionid="))
        .expect("session cookie");
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    // The session works with the same-origin Origin header.
    let csrf = b.csrf.clone();
    b.get("/settings/account-and-privacy").await;
    let csrf = if b.csrf.is_empty() {
        csrf
    } else {
        b.csrf.clone()
    };
    let r = b
        .send(
            Method::POST,
            "/json/fetch_api_key",
            &[("password", PASSWORD)],
            &[
                ("x-csrftoken", csrf.as_str()),
                ("origin", "https://tessera.test"),
            ],
        )
        .await;
    r.ok();
}

both!(api_paths_ignore_cookies_and_csrf, |t: TestApp| async move {
    // A browser session does not authenticate /api/v1, and Basic-auth calls need no token.
    let mut b = Browser::new(&t);
    b.login(OWNER, PASSWORD).await;
    let r = b
        .send(
            Method::GET,
            "/api/v1/users/me",
            &[],
            &[("accept", "application/json")],
        )
        .await;
    r.unauthorized("Not logged in: API authentication or user session required");
    t.post(
        "/api/v1/bots",
        Some(t.owner()),
        &[
            ("full_name", "Api Bot"),
            ("short_name", "api"),
            ("bot_type", "1"),
        ],
    )
    .await
    .ok();
});

both!(
    empty_password_is_refused_without_counting,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        assert_eq!(b.login(OWNER, PASSWORD).await.status, 302);
        b.get("/settings/account-and-privacy").await;
        // Far more empty tries than the five a username gets in 30 minutes.
        for _ in 0..8 {
            b.json(Method::POST, "/json/fetch_api_key", &[("password", "")])
                .await
                .error(400, "BAD_REQUEST", "Please enter your password.");
            b.json(
                Method::POST,
                "/json/users/me/logout_everywhere",
                &[("password", "")],
            )
            .await
            .error(400, "BAD_REQUEST", "Please enter your password.");
            b.json(
                Method::PATCH,
                "/json/settings",
                &[
                    ("old_password", ""),
                    ("new_password", "a much longer new one 42"),
                ],
            )
            .await
            .error(400, "BAD_REQUEST", "Please enter your password.");
        }
        // None of them counted: the real password still works, and nothing changed.
        let r = b
            .json(
                Method::POST,
                "/json/fetch_api_key",
                &[("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.ok()["api_key"].as_str().unwrap(), t.owner().1);
        assert_eq!(
            b.login(OWNER, PASSWORD).await.status,
            302,
            "password unchanged"
        );
    }
);

both!(
    password_strength_follows_the_rule,
    |t: TestApp| async move {
        let weak = t
            .post("/accounts/password/strength", None, &[("password", "abc")])
            .await;
        assert_eq!(weak.ok()["acceptable"], false);
        assert!(weak.body["strength"].as_f64().unwrap() < 0.9);
        assert!(
            weak.body["rule"]
                .as_str()
                .unwrap()
                .starts_with("At least 6 characters")
        );
        let strong = t
            .post(
                "/accounts/password/strength",
                None,
                &[("password", "violet submarine 73 orbit")],
            )
            .await;
        assert_eq!(strong.ok()["acceptable"], true);
        assert_eq!(strong.body["strength"], 1.0);
        // The server refuses what the meter calls weak, and accepts what it calls strong.
        let mut b = Browser::new(&t);
        assert_eq!(b.login(OWNER, PASSWORD).await.status, 302);
        b.get("/settings/account-and-privacy").await;
        b.json(
            Method::PATCH,
            "/json/settings",
            &[("old_password", PASSWORD), ("new_password", "abc")],
        )
        .await
        .error(400, "BAD_REQUEST", "New password is too weak!");
        b.json(
            Method::PATCH,
            "/json/settings",
            &[
                ("old_password", PASSWORD),
                ("new_password", "violet submarine 73 orbit"),
            ],
        )
        .await
        .ok();
        assert_eq!(t.get("/accounts/password/strength", None).await.status, 405);
    }
);
