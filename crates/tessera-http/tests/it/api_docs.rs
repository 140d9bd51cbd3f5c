//! `/api/…`: tessera's API documentation pages. Public; each settings step links into its tab;
//! examples carry the server's own address; and what the pages quote from the API is what the
//! API says.

use crate::both;
use crate::helpers::{Browser, OWNER, PASSWORD, TestApp};

const PAGES: [&str; 4] = [
    "/api/",
    "/api/api-keys",
    "/api/configuring-python-bindings",
    "/api/fetch-api-key",
];

/// The `href`s of a page's links.
fn links(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

both!(
    docs_pages_are_public_and_link_into_settings,
    |t: TestApp| async move {
        let site = t.get("/api/v1/server_settings", None).await.ok()["realm_url"]
            .as_str()
            .unwrap()
            .to_owned();
        for path in PAGES {
            let r = t.get(path, None).await;
            assert_eq!(r.status, 200, "{path}");
            assert!(r.header("content-type").starts_with("text/html"), "{path}");
            // The navigation marks the page being read, and lists every page.
            if path != "/api/" {
                assert!(
                    r.text
                        .contains(&format!(r#"<a href="{path}" aria-current="page">"#)),
                    "{path}"
                );
            }
            for other in &PAGES[1..] {
                assert!(links(&r.text).contains(other), "{path} links to {other}");
            }
            // No external assets: every link and script is this server's.
            for href in links(&r.text) {
                assert!(
                    href.starts_with('/') || href.starts_with('#'),
                    "{path}: {href}"
                );
            }
            assert!(!r.text.contains("<script src=\"http"), "{path}");
            // The title is text only, and each section is there once.
            let title = r
                .text
                .split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next());
            assert!(title.is_some_and(|t| !t.contains('<')), "{path}: {title:?}");
            for id in r
                .text
                .split(" id=\"")
                .skip(1)
                .filter_map(|t| t.split('"').next())
            {
                assert_eq!(
                    r.text.matches(&format!(" id=\"{id}\"")).count(),
                    1,
                    "{path}: #{id}"
                );
            }
            let r = t.post(path, None, &[]).await;
            assert_eq!(r.status, 405, "POST {path}");
        }
        let keys = t.get("/api/api-keys", None).await.text;
        for step in [
            r#"<a class="settings-link" href="/settings/your-bots">Personal settings → Your bots</a>"#,
            r#"<a class="settings-link" href="/settings/account-and-privacy">Personal settings → Account &amp; privacy</a>"#,
            "Manage your API key",
            "Get API key",
            "Generate new API key",
            "signs the account out of the Zulip mobile apps on every phone",
            r#"<a class="settings-link" href="/settings/api-key-policy">Organization settings → API keys</a>"#,
            "Create an API key",
            "API_KEY_SCOPE",
            "API_KEY_ADDRESS",
            "Keep the old key working",
        ] {
            assert!(keys.contains(step), "api-keys: {step}");
        }
        // (Long names in tables carry `<wbr>` break points.)
        let python = t
            .get("/api/configuring-python-bindings", None)
            .await
            .text
            .replace("<wbr>", "");
        assert!(python.contains(&format!("site={site}")), "{python}");
        for name in [
            "ZULIP_API_KEY",
            "ZULIP_EMAIL",
            "ZULIP_SITE",
            "ZULIP_CONFIG",
            "--user",
            "--config-file",
        ] {
            assert!(python.contains(name), "python bindings: {name}");
        }
        let fetch = t.get("/api/fetch-api-key", None).await.text;
        assert!(fetch.contains(&format!("{site}/api/v1/fetch_api_key")));

        // Every settings link the pages give opens its tab for someone signed in, and sends
        // someone signed out to log in and come back.
        let mut b = Browser::new(&t);
        for href in links(&keys)
            .into_iter()
            .chain(links(&python))
            .chain(links(&fetch))
        {
            if href.starts_with("/settings/") {
                let out = t.get(href, None).await;
                assert_eq!(out.status, 302, "{href}");
                assert!(
                    out.header("location").starts_with("/login/?next="),
                    "{href}"
                );
            }
        }
        b.login(OWNER, PASSWORD).await;
        for tab in [
            "/settings/your-bots",
            "/settings/account-and-privacy",
            "/settings/api-key-policy",
        ] {
            let page = b.get(tab).await;
            assert_eq!(page.status, 200, "{tab}");
        }
        // Each step's words are what the tab it opens shows: every "A → B → C" part is a
        // heading or tab label on that page.
        for page in [&keys, &python, &fetch] {
            for step in page.split(r#"<a class="settings-link" href=""#).skip(1) {
                let (href, rest) = step.split_once("\">").unwrap();
                let words = rest.split("</a>").next().unwrap();
                let opened = b.get(href).await.text;
                for part in words.split(" → ") {
                    assert!(
                        opened.contains(&format!(">{part}</")),
                        "{words}: {href} shows no {part:?}"
                    );
                }
            }
        }
        // The settings page points back at the docs.
        let account = b.get("/settings/account-and-privacy").await.text;
        assert!(links(&account).contains(&"/api/api-keys"));
        let bots = b.get("/settings/your-bots").await.text;
        assert!(links(&bots).contains(&"/api/configuring-python-bindings"));
    }
);

both!(
    fetch_api_key_page_quotes_the_api_word_for_word,
    |t: TestApp| async move {
        let page = t
            .get("/api/fetch-api-key", None)
            .await
            .text
            .replace("<wbr>", "");
        let wrong = t
            .post(
                "/api/v1/fetch_api_key",
                None,
                &[("username", OWNER), ("password", "not-the-password")],
            )
            .await;
        let missing = t
            .post("/api/v1/fetch_api_key", None, &[("username", OWNER)])
            .await;
        let not_email = t
            .post(
                "/api/v1/fetch_api_key",
                None,
                &[("username", "not an email"), ("password", "x")],
            )
            .await;
        for (r, status) in [(&wrong, 401), (&missing, 400), (&not_email, 400)] {
            assert_eq!(r.status, status, "{}", r.text);
            let row = format!(
                r#"<tr><td data-label="Status">{status}</td><td data-label="code"><code>{}</code></td>"#,
                r.code()
            );
            assert!(page.contains(&row), "{row}");
            assert!(page.contains(r.msg()), "{}", r.msg());
        }
        // The success example has the fields the API answers with.
        let ok = t
            .post(
                "/api/v1/fetch_api_key",
                None,
                &[("username", OWNER), ("password", PASSWORD)],
            )
            .await;
        for field in ok.ok().as_object().unwrap().keys() {
            assert!(page.contains(&format!("\"{field}\":")), "{field}");
        }
    }
);
