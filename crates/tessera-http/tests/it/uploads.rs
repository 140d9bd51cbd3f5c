//! `POST /user_uploads` and serving the file: to its owner and to those who may read a
//! message that links to it (web session or HTTP Basic), never to others; inline only for
//! safe types; temporary URLs; Zulip's errors and size limit.

use crate::both;
use crate::helpers::{HOST, TestApp, basic};
use axum::body::Body;
use axum::http::{Method, Request};
use tessera_core::Role;

const MEMBER: &str = "uploads-member@tessera.test";
const OTHER: &str = "uploads-other@tessera.test";
const BOUNDARY: &str = "tesseraBoundary7";

fn multipart(files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, ctype, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    t: &TestApp,
    who: (&str, &str),
    files: &[(&str, &str, &[u8])],
) -> crate::helpers::Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/user_uploads")
        .header("host", HOST)
        .header("authorization", basic(who.0, who.1))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(files)))
        .unwrap();
    t.send(req).await
}

both!(
    uploads_are_served_to_readers_only,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        let (_, other_key) = t.user(OTHER, Role::Member).await;
        let other = (OTHER, other_key.as_str());
        let r = upload(
            &t,
            member,
            &[("notes (v2).txt", "text/plain", b"hello file")],
        )
        .await;
        let url = r.ok()["url"].as_str().unwrap().to_owned();
        assert_eq!(r.body["uri"], url.as_str());
        assert!(url.starts_with("/user_uploads/1/"), "{url}");
        assert!(url.ends_with("/notes-v2.txt"), "{url}");

        // The owner reads it; someone else, or nobody, may not.
        let r = t.get(&url, Some(member)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text, "hello file");
        assert_eq!(r.header("content-type"), "text/plain");
        assert_eq!(
            r.header("content-disposition"),
            "inline; filename=\"notes (v2).txt\""
        );
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        let r = t.get(&url, Some(other)).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.text, "<p>You are not authorized to view this file.</p>");
        assert_eq!(t.get(&url, None).await.status, 403);
        let missing = format!("{}x", url);
        assert_eq!(t.get(&missing, Some(member)).await.status, 404);

        // A direct message that links to it lets its recipient read it; the download route
        // never shows it inline.
        let to = format!("[\"{OTHER}\"]");
        let content = format!("[notes]({url})");
        t.post(
            "/api/v1/messages",
            Some(member),
            &[("type", "direct"), ("to", &to), ("content", &content)],
        )
        .await
        .ok();
        let r = t.get(&url, Some(other)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let download = url.replacen("/user_uploads/", "/user_uploads/download/", 1);
        let r = t.get(&download, Some(other)).await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-disposition").starts_with("attachment;"));
        // Someone who did not receive it still may not.
        assert_eq!(t.get(&url, Some(t.owner())).await.status, 403);

        // A temporary URL works without credentials, for that file name only.
        let api_path = url.replacen("/user_uploads/", "/api/v1/user_uploads/", 1);
        let r = t.get(&api_path, Some(other)).await;
        let temp = r.ok()["url"].as_str().unwrap().to_owned();
        assert!(temp.starts_with("/user_uploads/temporary/"), "{temp}");
        let r = t.get(&temp, None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text, "hello file");
        let wrong = format!("{}/other.txt", temp.rsplit_once('/').unwrap().0);
        t.get(&wrong, None)
            .await
            .error(400, "BAD_REQUEST", "Invalid filename");
        let forged = temp.replacen("/temporary/", "/temporary/00", 1);
        t.get(&forged, None)
            .await
            .error(400, "BAD_REQUEST", "Invalid token");
        let r = t.get(&api_path, Some(t.owner())).await;
        assert_eq!(r.status, 403);
    }
);

both!(
    unsafe_types_are_downloads_and_bad_uploads_are_refused,
    |t: TestApp| async move {
        let (_, key) = t.user(MEMBER, Role::Member).await;
        let member = (MEMBER, key.as_str());
        let r = upload(
            &t,
            member,
            &[("page.html", "text/html", b"<script>alert(1)</script>")],
        )
        .await;
        let url = r.ok()["url"].as_str().unwrap().to_owned();
        let r = t.get(&url, Some(member)).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-disposition"),
            "attachment; filename=\"page.html\""
        );

        upload(&t, member, &[]).await.error(
            400,
            "BAD_REQUEST",
            "You must specify a file to upload",
        );
        upload(
            &t,
            member,
            &[("a.txt", "text/plain", b"a"), ("b.txt", "text/plain", b"b")],
        )
        .await
        .error(400, "BAD_REQUEST", "You may only upload one file at a time");
        let big = vec![b'x'; 25 * 1024 * 1024 + 1];
        upload(&t, member, &[("big.bin", "application/octet-stream", &big)])
            .await
            .error(
                400,
                "BAD_REQUEST",
                "File is larger than this server's configured maximum upload size (25 MiB).",
            );
    }
);
