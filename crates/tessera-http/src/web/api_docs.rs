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

/// A documentation page: its template's struct and the handler that renders it for `$path`.
macro_rules! doc_page {
    ($(#[$doc:meta])* $handler:ident, $name:ident, $template:literal, $path:literal) => {
        #[derive(Template)]
        #[template(path = $template)]
        struct $name {
            c: Chrome,
            /// This organization's address, for the examples.
            site: String,
            pages: &'static [(&'static str, &'static str)],
            current: &'static str,
        }

        $(#[$doc])*
        pub async fn $handler(web: Web) -> Response {
            let page = $name {
                c: web.chrome().await,
                site: web.app.realm_url(&web.subdomain),
                pages: PAGES,
                current: $path,
            };
            web.page(&page)
        }
    };
}

doc_page!(
    /// GET /api/ — the index of the documentation pages.
    get_index,
    IndexPage,
    "api_docs/index.html",
    "/api/"
);
doc_page!(
    /// GET /api/api-keys — finding a bot's or your own key, and invalidating one.
    get_api_keys,
    ApiKeysPage,
    "api_docs/api_keys.html",
    "/api/api-keys"
);
doc_page!(
    /// GET /api/configuring-python-bindings — `zuliprc`, environment variables, flags.
    get_configuring_python_bindings,
    PythonBindingsPage,
    "api_docs/configuring_python_bindings.html",
    "/api/configuring-python-bindings"
);
doc_page!(
    /// GET /api/fetch-api-key — `POST /api/v1/fetch_api_key`, its parameters and errors.
    get_fetch_api_key,
    FetchApiKeyPage,
    "api_docs/fetch_api_key.html",
    "/api/fetch-api-key"
);
