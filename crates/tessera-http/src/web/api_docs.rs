//! `/api/…`: tessera's own pages of API documentation for the seed's three articles (API
//! keys, configuring the Python bindings, fetching a key), in its own words. Each "go to
//! Settings → …" step links into that settings tab, and examples carry this server's address.
//! Public, as Zulip's `/api/` pages are.

use super::{Chrome, Web};
use askama::Template;
use axum::response::Response;

/// The documentation pages, in the order the navigation lists them.
const PAGES: &[(&str, &str)] = &[
    ("/api/api-keys", "API keys"),
    (
        "/api/configuring-python-bindings",
        "Configuring the Python bindings",
    ),
    ("/api/fetch-api-key", "Fetch an API key (production)"),
];

macro_rules! doc_page {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name {
            c: Chrome,
            /// This organization's address, for the examples.
            site: String,
            pages: &'static [(&'static str, &'static str)],
            current: &'static str,
        }
    };
}
doc_page!(IndexPage, "api_docs/index.html");
doc_page!(ApiKeysPage, "api_docs/api_keys.html");
doc_page!(
    PythonBindingsPage,
    "api_docs/configuring_python_bindings.html"
);
doc_page!(FetchApiKeyPage, "api_docs/fetch_api_key.html");

async fn parts(web: &Web) -> (Chrome, String) {
    (web.chrome().await, web.app.realm_url(&web.subdomain))
}

/// GET /api/ — the index of the documentation pages.
pub async fn get_index(web: Web) -> Response {
    let (c, site) = parts(&web).await;
    web.page(&IndexPage {
        c,
        site,
        pages: PAGES,
        current: "/api/",
    })
}

/// GET /api/api-keys — finding a bot's or your own key, and invalidating one.
pub async fn get_api_keys(web: Web) -> Response {
    let (c, site) = parts(&web).await;
    web.page(&ApiKeysPage {
        c,
        site,
        pages: PAGES,
        current: "/api/api-keys",
    })
}

/// GET /api/configuring-python-bindings — `zuliprc`, environment variables, flags.
pub async fn get_configuring_python_bindings(web: Web) -> Response {
    let (c, site) = parts(&web).await;
    web.page(&PythonBindingsPage {
        c,
        site,
        pages: PAGES,
        current: "/api/configuring-python-bindings",
    })
}

/// GET /api/fetch-api-key — `POST /api/v1/fetch_api_key`, its parameters and errors.
pub async fn get_fetch_api_key(web: Web) -> Response {
    let (c, site) = parts(&web).await;
    web.page(&FetchApiKeyPage {
        c,
        site,
        pages: PAGES,
        current: "/api/fetch-api-key",
    })
}
