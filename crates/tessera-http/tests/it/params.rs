//! Zulip's parameter conventions.

use crate::both;
use crate::helpers::*;
use axum::http::Method;

both!(
    unknown_params_are_listed_not_rejected,
    |t: TestApp| async move {
        let r = t
            .post(
                "/api/v1/users/me/api_key/regenerate",
                Some(t.owner()),
                &[
                    ("zeta", "1"),
                    ("alpha", "x"),
                    ("dont_block", "true"),
                    ("client", "test"),
                ],
            )
            .await;
        assert_eq!(
            r.ok()["ignored_parameters_unsupported"],
            serde_json::json!(["alpha", "dont_block", "zeta"])
        );
        let r = t.get("/api/v1/server_settings", None).await;
        assert!(
            r.ok().get("ignored_parameters_unsupported").is_none(),
            "omitted when empty"
        );
    }
);

both!(query_string_on_every_method, |t: TestApp| async move {
    let r = t
        .post(
            "/api/v1/fetch_api_key?username=owner%40tessera.test&password=tessera-Mosaic-42",
            None,
            &[],
        )
        .await;
    assert_eq!(r.ok()["user_id"], 1);
    let r = t
        .request(
            Method::POST,
            "/api/v1/bots?full_name=Query+Bot&short_name=qb&bot_type=1",
            Some(t.owner()),
            &[],
            &[],
        )
        .await;
    r.ok();
    // The body wins over the query string.
    let r = t
        .post(
            "/api/v1/fetch_api_key?password=wrong-wrong",
            None,
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    r.ok();
});

both!(multipart_bodies, |t: TestApp| async move {
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n{OWNER}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{PASSWORD}\r\n--{boundary}--\r\n"
    );
    let r = t
        .raw_post(
            "/api/v1/fetch_api_key",
            &format!("multipart/form-data; boundary={boundary}"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(r.ok()["user_id"], 1);
});

both!(bad_bodies_get_zulip_errors, |t: TestApp| async move {
    let big = vec![b'a'; 6 * 1024 * 1024];
    let r = t
        .raw_post(
            "/api/v1/fetch_api_key",
            "application/x-www-form-urlencoded",
            big,
        )
        .await;
    assert_eq!(r.status.as_u16(), 413);
    assert_eq!(r.body["result"], "error");
    let r = t
        .raw_post(
            "/api/v1/fetch_api_key",
            "multipart/form-data; boundary=zz",
            b"garbage".to_vec(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(r.body["result"], "error");
    let r = t
        .raw_post(
            "/api/v1/fetch_api_key",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'=', 0x80],
        )
        .await;
    r.error(
        400,
        "REQUEST_VARIABLE_MISSING",
        "Missing 'username' argument",
    );
    let r = t.get("/api/v1/no/such/endpoint", Some(t.owner())).await;
    r.error(404, "BAD_REQUEST", "Not Found");
    let r = t
        .request(Method::OPTIONS, "/api/v1/bots", None, &[], &[])
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(r.header("allow"), "GET, HEAD, POST");
});
