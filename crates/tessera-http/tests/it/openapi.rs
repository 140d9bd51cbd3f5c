//! The OpenAPI document is served and describes exactly the routes the router serves: every
//! documented path and method is routed, and every route (with its methods) is documented.

use crate::helpers::TestApp;
use std::collections::BTreeSet;

/// (path, METHOD) pairs declared in `src/routes.rs`, with their mount prefixes.
fn routed() -> BTreeSet<(String, String)> {
    let src = include_str!("../../src/routes.rs");
    let section = |name: &str| {
        let start = src.find(&format!("fn {name}(")).unwrap();
        let rest = &src[start + 1..];
        let end = rest
            .find("\npub(crate) fn ")
            .or_else(|| rest.find("\nfn "))
            .unwrap_or(rest.len());
        rest[..end].to_owned()
    };
    let mut out = BTreeSet::new();
    for (name, prefixes) in [
        ("shared_routes", vec!["/api/v1", "/json"]),
        ("api_only_routes", vec!["/api/v1"]),
        ("json_only_routes", vec!["/json"]),
        ("web_routes", vec![""]),
    ] {
        let text = section(name);
        for chunk in text.split(".route(").skip(1) {
            // `{*rest}` (a route's catch-all) is `{rest}` in OpenAPI.
            let path = chunk.split('"').nth(1).unwrap().replace("{*", "{");
            let mut methods = BTreeSet::new();
            for m in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{m}(");
                if chunk.match_indices(&needle).any(|(i, _)| {
                    i == 0
                        || !chunk.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && chunk.as_bytes()[i - 1] != b'_'
                }) {
                    methods.insert(m.to_uppercase());
                }
            }
            for p in &prefixes {
                for m in &methods {
                    out.insert((format!("{p}{path}"), m.clone()));
                }
            }
        }
    }
    out
}

/// (path, METHOD) pairs in the served document.
fn documented(yaml: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.is_empty() {
            in_paths = false;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            current = Some(
                format!("/{p}")
                    .trim_matches('\'')
                    .trim_matches('"')
                    .to_owned(),
            );
        } else if let (Some(p), Some(m)) = (
            &current,
            line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')),
        ) && ["get", "post", "put", "patch", "delete"].contains(&m)
        {
            out.insert((p.clone(), m.to_uppercase()));
        }
    }
    out
}

#[tokio::test]
async fn document_matches_the_router() {
    let t = TestApp::new(tessera_store::Engine::Sqlite).await;
    let r = t.get("/api/v1/openapi.yaml", None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("application/yaml"));
    assert!(r.text.starts_with("#") || r.text.starts_with("openapi:"));
    let doc = documented(&r.text);
    let routes = routed();
    assert!(routes.len() > 60, "parsed the router: {}", routes.len());
    let undocumented: Vec<_> = routes.difference(&doc).collect();
    let unrouted: Vec<_> = doc.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}
