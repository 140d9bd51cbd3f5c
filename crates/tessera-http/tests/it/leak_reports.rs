//! `POST /api/v1/secret_scanning/report`: signed leak reports replace the keys they name.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use tessera_core::Role;
use tessera_core::secret_scanning::PublicKeys;

const PATH: &str = "/api/v1/secret_scanning/report";

/// A scanner's signing key and the key file a deployment would configure for it.
fn scanner() -> (SigningKey, PublicKeys) {
    let sk = SigningKey::random(&mut rand::rngs::OsRng);
    let pem = VerifyingKey::from(&sk)
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let file = json!({"public_keys": [
        {"key_identifier": "scanner-1", "key": pem, "is_current": true}
    ]});
    (sk, PublicKeys::from_json(&file.to_string()).unwrap())
}

fn signature(sk: &SigningKey, body: &[u8]) -> String {
    let sig: Signature = sk.sign(body);
    base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
}

async fn report(t: &TestApp, body: &[u8], headers: &[(&str, &str)]) -> Resp {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(PATH)
        .header("host", HOST)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    t.send(req.body(Body::from(body.to_vec())).unwrap()).await
}

/// The report as the configured scanner sends it, with `sig` under its key identifier.
async fn signed_report(t: &TestApp, body: &[u8], sig: &str) -> Resp {
    report(
        t,
        body,
        &[
            ("Github-Public-Key-Identifier", "scanner-1"),
            ("Github-Public-Key-Signature", sig),
        ],
    )
    .await
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

async fn signed_reports_replace_named_keys(t: TestApp, sk: SigningKey) {
    let (member, member_key) = t.user("leaky@example.com", Role::Member).await;
    let (bot, bot_key, bot_email) = t.bot(t.owner(), "leakbot", 1).await;
    // A key that was live once and has been replaced since.
    let (stale_id, stale_key) = t.user("stale@example.com", Role::Member).await;
    let stale = t.app.user_row(stale_id).await.unwrap();
    t.app.regenerate_api_key(&stale, stale.id).await.unwrap();
    let url = "https://github.com/someone/repo/blob/main/zuliprc";
    let tokens = json!([
        {"token": member_key, "type": "tessera_api_key", "url": url, "source": "content"},
        {"token": bot_key, "type": "tessera_api_key", "url": url, "source": "commit"},
        {"token": stale_key, "type": "tessera_api_key", "url": url, "source": "content"},
        {"token": "not-a-key-at-all", "type": "tessera_api_key", "url": url, "source": "content"},
    ]);
    let body = tokens.to_string().into_bytes();
    let before_audit = t.audit_events(member).await.len();
    let before_mail = tessera_app::read_outbox(t.outbox.path()).len();

    // Unsigned, signed by another key, or signed over other bytes: refused, nothing changes.
    let (other, _) = scanner();
    let bad_sig = signature(&other, &body);
    let good_sig = signature(&sk, &body);
    let other_body_sig = signature(&sk, b"[]");
    let refusals: [(&[(&str, &str)], &str); 4] = [
        (
            &[],
            "Missing 'Github-Public-Key-Identifier' or 'Github-Public-Key-Signature' header",
        ),
        (
            &[
                ("Github-Public-Key-Identifier", "scanner-1"),
                ("Github-Public-Key-Signature", bad_sig.as_str()),
            ],
            "Invalid signature",
        ),
        (
            &[
                ("Github-Public-Key-Identifier", "scanner-1"),
                ("Github-Public-Key-Signature", other_body_sig.as_str()),
            ],
            "Invalid signature",
        ),
        (
            &[
                ("Github-Public-Key-Identifier", "scanner-2"),
                ("Github-Public-Key-Signature", good_sig.as_str()),
            ],
            "Unknown public key identifier",
        ),
    ];
    for (headers, msg) in refusals {
        report(&t, &body, headers)
            .await
            .error(400, "BAD_REQUEST", msg);
    }
    t.get("/api/v1/users/me", Some(("leaky@example.com", &member_key)))
        .await
        .ok();
    t.get("/api/v1/users/me", Some((&bot_email, &bot_key)))
        .await
        .ok();
    assert_eq!(t.audit_events(member).await.len(), before_audit);
    assert_eq!(tessera_app::read_outbox(t.outbox.path()).len(), before_mail);

    // Signed: the two live keys are replaced, the stale and the garbage ones change nothing.
    let r = signed_report(&t, &body, &good_sig).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let labels: Vec<(String, String)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v: &Value| {
            assert_eq!(v["token_type"], "tessera_api_key");
            (
                v["token_hash"].as_str().unwrap().to_owned(),
                v["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        vec![
            (sha256_hex(&member_key), "true_positive".to_owned()),
            (sha256_hex(&bot_key), "true_positive".to_owned()),
            (sha256_hex(&stale_key), "false_positive".to_owned()),
            (sha256_hex("not-a-key-at-all"), "false_positive".to_owned()),
        ]
    );
    assert!(
        !r.text.contains(&member_key),
        "the answer does not echo keys"
    );
    t.get("/api/v1/users/me", Some(("leaky@example.com", &member_key)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((&bot_email, &bot_key)))
        .await
        .unauthorized("Invalid API key");
    // The accounts have new keys that work, and the owner of each is told where it leaked.
    let new_member_key = t
        .app
        .reveal_api_key(&t.app.user_row(member).await.unwrap())
        .unwrap();
    t.get(
        "/api/v1/users/me",
        Some(("leaky@example.com", new_member_key.expose())),
    )
    .await
    .ok();
    let events = t.audit_events(member).await;
    assert_eq!(
        &events[events.len() - 2..],
        &[(127, Some(member)), (9005, None)]
    );
    assert_eq!(t.audit_events(bot).await.last(), Some(&(9005, None)));
    let rows = t.app.store().audit_for_user(member).await.unwrap();
    let extra: Value =
        serde_json::from_str(rows.last().unwrap().extra_data.as_deref().unwrap()).unwrap();
    assert_eq!(extra["url"], url);
    assert_eq!(extra["source"], "content");
    let mails = tessera_app::read_outbox(t.outbox.path());
    assert_eq!(mails.len(), before_mail + 2, "{mails:?}");
    let to_member = mails.iter().find(|m| m.to == "leaky@example.com").unwrap();
    assert_eq!(to_member.subject, "Your API key was found in public");
    assert!(to_member.body.contains(url) && to_member.body.contains("(found in: content)"));
    assert!(!to_member.body.contains(&member_key));
    let to_owner = mails.iter().find(|m| m.to == OWNER).unwrap();
    assert_eq!(
        to_owner.subject,
        "The API key of your bot leakbot bot was found in public"
    );
    assert!(to_owner.body.contains(url) && to_owner.body.contains("(found in: commit)"));

    // The same report again: nothing is live any more, nothing changes.
    let r = signed_report(&t, &body, &good_sig).await;
    assert!(
        r.body
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["label"] == "false_positive")
    );
    assert_eq!(
        tessera_app::read_outbox(t.outbox.path()).len(),
        before_mail + 2
    );
}

#[tokio::test]
async fn signed_reports_replace_the_keys_they_name() {
    for engine in [
        tessera_store::Engine::Sqlite,
        tessera_store::Engine::Postgres,
    ] {
        let (sk, keys) = scanner();
        let t = TestApp::with_config(engine, |c| c.secret_scanning_keys = Some(keys)).await;
        signed_reports_replace_named_keys(t, sk).await;
    }
}

crate::both!(
    reports_are_refused_when_not_configured,
    |t: TestApp| async move {
        let (sk, _) = scanner();
        let body = json!([{"token": t.owner_key, "type": "tessera_api_key"}]).to_string();
        let sig = signature(&sk, body.as_bytes());
        report(
            &t,
            body.as_bytes(),
            &[
                ("Github-Public-Key-Identifier", "scanner-1"),
                ("Github-Public-Key-Signature", sig.as_str()),
            ],
        )
        .await
        .error(
            400,
            "BAD_REQUEST",
            "Secret scanning reports are not configured on this server.",
        );
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    }
);

/// A leaked named key is revoked alone: the account key and the other named keys keep
/// working, and the owner is told which key it was.
async fn leaked_named_key_is_revoked_alone(t: TestApp, sk: SigningKey) {
    let keys = "/api/v1/users/me/api_keys";
    let leaked = t.post(keys, Some(t.owner()), &[("name", "ci")]).await;
    let leaked = leaked.ok()["api_key"].as_str().unwrap().to_owned();
    let kept = t.post(keys, Some(t.owner()), &[("name", "laptop")]).await;
    let kept = kept.ok()["api_key"].as_str().unwrap().to_owned();
    t.get("/api/v1/users/me", Some((OWNER, &leaked))).await.ok();
    let body = json!([{"token": leaked, "type": "tessera_api_key", "url": "https://example.com/paste", "source": "content"}])
        .to_string()
        .into_bytes();
    let r = signed_report(&t, &body, &signature(&sk, &body)).await;
    assert_eq!(r.body[0]["label"], "true_positive", "{}", r.text);
    t.get("/api/v1/users/me", Some((OWNER, &leaked)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((OWNER, &kept))).await.ok();
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    let events: Vec<i64> = t.audit_events(1).await.iter().map(|e| e.0).collect();
    assert_eq!(&events[events.len() - 2..], &[9007, 9005]);
    let mails = tessera_app::read_outbox(t.outbox.path());
    let mail = mails.last().unwrap();
    assert_eq!(mail.to, OWNER);
    assert!(mail.body.contains("a named API key") && mail.body.contains("revoked it"));
}

#[tokio::test]
async fn a_leaked_named_key_is_revoked_alone() {
    for engine in [
        tessera_store::Engine::Sqlite,
        tessera_store::Engine::Postgres,
    ] {
        let (sk, keys) = scanner();
        let t = TestApp::with_config(engine, |c| c.secret_scanning_keys = Some(keys)).await;
        leaked_named_key_is_revoked_alone(t, sk).await;
    }
}

/// A leaked device key (one app login's) signs that app out alone; the account key, the other
/// app and its push registration keep working.
async fn leaked_device_key_signs_that_app_out(t: TestApp, sk: SigningKey) {
    let leaked = t.app_login("ZulipMobile/27.200 (Android 14)").await;
    let kept = t.app_login("ZulipMobile/27.200 (iOS 17)").await;
    t.post(
        "/api/v1/users/me/android_gcm_reg_id",
        Some((OWNER, &kept)),
        &[("token", "kept-phone-token")],
    )
    .await
    .ok();
    let body = json!([{"token": leaked, "type": "tessera_api_key", "url": "https://example.com/log", "source": "content"}])
        .to_string()
        .into_bytes();
    let r = signed_report(&t, &body, &signature(&sk, &body)).await;
    assert_eq!(r.body[0]["label"], "true_positive", "{}", r.text);
    t.get("/api/v1/users/me", Some((OWNER, &leaked)))
        .await
        .unauthorized("Invalid API key");
    t.get("/api/v1/users/me", Some((OWNER, &kept))).await.ok();
    t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    assert_eq!(t.app.store().push_devices_for(1).await.unwrap().len(), 1);
    let mails = tessera_app::read_outbox(t.outbox.path());
    let mail = mails
        .iter()
        .find(|m| m.subject == "Your API key was found in public")
        .unwrap();
    assert!(
        mail.body.contains("one signed-in app") && mail.body.contains("sign it in again"),
        "{}",
        mail.body
    );
    // Reported again: already revoked, nothing changes.
    let r = signed_report(&t, &body, &signature(&sk, &body)).await;
    assert_eq!(r.body[0]["label"], "false_positive", "{}", r.text);
}

#[tokio::test]
async fn a_leaked_device_key_signs_that_app_out() {
    for engine in [
        tessera_store::Engine::Sqlite,
        tessera_store::Engine::Postgres,
    ] {
        let (sk, keys) = scanner();
        let t = TestApp::with_config(engine, |c| c.secret_scanning_keys = Some(keys)).await;
        leaked_device_key_signs_that_app_out(t, sk).await;
    }
}
