//! "Forgot your password?": same answer for every address, a single-use expiring link stored
//! only as a digest, rate limits per address and IP, the policy on the new password, and every
//! session ended afterwards.

use crate::both;
use crate::helpers::{Browser, OWNER, PASSWORD, TestApp};
use tessera_core::Role;

const NEW_PASSWORD: &str = "a-Fresh-passw0rd-42";

/// The reset link in the newest email to `to`, as a path.
fn link_in_outbox(t: &TestApp, to: &str) -> Option<String> {
    // Newest first; other mail (new-login notices) may be there too.
    tessera_app::read_outbox(t.outbox.path())
        .iter()
        .filter(|m| m.to == to)
        .find_map(|mail| {
            let start = mail
                .body
                .find("http://tessera.test/accounts/password/reset/")?;
            let url = mail.body[start..].split_whitespace().next()?;
            Some(url.trim_start_matches("http://tessera.test").to_owned())
        })
}

both!(same_answer_for_every_address, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    let page = b.get("/accounts/password/reset/").await;
    assert!(page.text.contains("Reset your password"));
    let known = b
        .submit("/accounts/password/reset/", &[("email", OWNER)])
        .await;
    let unknown = b
        .submit(
            "/accounts/password/reset/",
            &[("email", "nobody@tessera.test")],
        )
        .await;
    for r in [&known, &unknown] {
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), "/accounts/password/reset/done/");
    }
    let done = b.get("/accounts/password/reset/done/").await;
    assert!(
        done.text
            .contains("Check your email in a few minutes to finish the process.")
    );
    // Without SMTP, the page says where the mail went, and the outbox has it as text.
    assert!(
        done.text
            .contains("it was written as a text file to the outbox folder on the server")
            && !done.text.contains(&t.outbox.path().display().to_string()),
        "{}",
        done.text
    );
    let texts = std::fs::read_dir(t.outbox.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().any(
        |t| t.contains("Click the link below to reset your password.")
            && t.contains("/accounts/password/reset/")
    ));
    let mails = tessera_app::read_outbox(t.outbox.path());
    assert_eq!(mails.len(), 2);
    let to_owner = mails.iter().find(|m| m.to == OWNER).expect("mail to owner");
    assert_eq!(to_owner.subject, "Password reset request for Test Org");
    assert!(
        to_owner
            .body
            .contains("Click the link below to reset your password.")
    );
    let to_nobody = mails
        .iter()
        .find(|m| m.to == "nobody@tessera.test")
        .expect("mail to unknown");
    assert!(
        to_nobody
            .body
            .contains("You do not have an account in that Zulip organization.")
    );
    assert!(
        !to_nobody.body.contains("/accounts/password/reset/"),
        "no link for unknown addresses"
    );
    // Bad syntax is a form error, not a crash.
    let r = b
        .submit("/accounts/password/reset/", &[("email", "not an email")])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("Enter a valid email address."));
});

both!(
    reset_link_works_once_and_ends_sessions,
    |t: TestApp| async move {
        let mut signed_in = Browser::new(&t);
        assert_eq!(signed_in.login(OWNER, PASSWORD).await.status, 302);
        assert_eq!(
            signed_in.get("/settings/account-and-privacy").await.status,
            200
        );
        let mut b = Browser::new(&t);
        b.get("/accounts/password/reset/").await;
        b.submit("/accounts/password/reset/", &[("email", OWNER)])
            .await;
        let link = link_in_outbox(&t, OWNER).expect("link");
        // The token is stored only as a digest.
        let token = link
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(token.len(), 32);
        let form = b.get(&link).await;
        assert_eq!(form.status, 200);
        assert!(
            form.text.contains("id=\"set_password_form\""),
            "{}",
            form.text
        );
        // Mismatch and weak passwords are refused, and the link stays good.
        let r = b
            .submit(
                &link,
                &[("new_password1", NEW_PASSWORD), ("new_password2", "other")],
            )
            .await;
        assert!(
            r.text
                .contains("The two password fields didn\u{2019}t match."),
            "{}",
            r.text
        );
        let r = b
            .submit(&link, &[("new_password1", "abc"), ("new_password2", "abc")])
            .await;
        assert!(r.text.contains("The password is too weak."), "{}", r.text);
        let r = b
            .submit(
                &link,
                &[
                    ("new_password1", NEW_PASSWORD),
                    ("new_password2", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), "/accounts/password/done/");
        assert!(
            b.get("/accounts/password/done/")
                .await
                .text
                .contains("You've set a new password!")
        );
        // Used once: the link is dead.
        let again = b.get(&link).await;
        assert!(
            again
                .text
                .contains("Sorry, the link you provided is invalid or has already been used.")
        );
        assert!(!again.text.contains("set_password_form"));
        let r = b
            .submit(
                &link,
                &[
                    ("new_password1", "another-Passw0rd-9"),
                    ("new_password2", "another-Passw0rd-9"),
                ],
            )
            .await;
        assert!(r.text.contains("invalid or has already been used"));
        // The earlier session is over; the new password signs in, the old one does not.
        assert_eq!(
            signed_in.get("/settings/account-and-privacy").await.status,
            302
        );
        assert!(t.app.sessions_of(1).await.unwrap().is_empty());
        assert!(
            b.login(OWNER, PASSWORD)
                .await
                .text
                .contains("Please enter a correct email")
        );
        assert_eq!(b.login(OWNER, NEW_PASSWORD).await.status, 302);
        // The API key was not changed by the reset (Zulip: only "generate new API key" does that).
        t.get("/api/v1/users/me", Some(t.owner())).await.ok();
    }
);

both!(
    reset_link_expires_and_dies_with_any_password_change,
    |t: TestApp| async move {
        let mut b = Browser::new(&t);
        b.get("/accounts/password/reset/").await;
        b.submit("/accounts/password/reset/", &[("email", OWNER)])
            .await;
        let link = link_in_outbox(&t, OWNER).expect("link");
        t.clock.advance_secs((3 * 24 * 3600 + 1) as f64);
        let r = b.get(&link).await;
        assert!(
            r.text.contains("invalid or has already been used"),
            "expired"
        );
        // A second link, then a password change by other means: the link is spent.
        let (id, _) = t.user("member@tessera.test", Role::Member).await;
        b.submit(
            "/accounts/password/reset/",
            &[("email", "member@tessera.test")],
        )
        .await;
        let link = link_in_outbox(&t, "member@tessera.test").expect("link");
        assert!(b.get(&link).await.text.contains("set_password_form"));
        let user = t.app.user_row(id).await.unwrap();
        t.app.set_password(&user, NEW_PASSWORD, 1).await.unwrap();
        assert!(
            b.get(&link)
                .await
                .text
                .contains("invalid or has already been used")
        );
        // Tampered links are refused: another user's id, a malformed token.
        let parts: Vec<&str> = link.trim_matches('/').split('/').collect();
        let token = parts[parts.len() - 1];
        for bad in [
            format!("/accounts/password/reset/MQ/{token}/"),
            "/accounts/password/reset/MQ/short/".to_owned(),
            "/accounts/password/reset/%%%/x/".to_owned(),
        ] {
            let r = b.get(&bad).await;
            assert!(
                r.status == 200 || r.status == 400 || r.status == 404,
                "{bad}: {}",
                r.status
            );
            assert!(!r.text.contains("set_password_form"), "{bad}");
        }
    }
);

both!(deactivated_account_gets_no_link, |t: TestApp| async move {
    let (id, _) = t.user("member@tessera.test", Role::Member).await;
    let user = t.app.user_row(id).await.unwrap();
    t.app.deactivate_user(&user, 1).await.unwrap();
    let mut b = Browser::new(&t);
    b.get("/accounts/password/reset/").await;
    let r = b
        .submit(
            "/accounts/password/reset/",
            &[("email", "member@tessera.test")],
        )
        .await;
    assert_eq!(r.header("location"), "/accounts/password/reset/done/");
    let mails = tessera_app::read_outbox(t.outbox.path());
    assert!(mails[0].body.contains("has been deactivated"));
    assert!(link_in_outbox(&t, "member@tessera.test").is_none());
});

both!(reset_requests_are_rate_limited, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.get("/accounts/password/reset/").await;
    for _ in 0..2 {
        let r = b
            .submit("/accounts/password/reset/", &[("email", OWNER)])
            .await;
        assert_eq!(r.status, 302);
    }
    let r = b
        .submit("/accounts/password/reset/", &[("email", OWNER)])
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(
        tessera_app::read_outbox(t.outbox.path()).len(),
        2,
        "no third email"
    );
    // Unknown addresses count the same way (no difference to observe).
    for _ in 0..2 {
        b.submit(
            "/accounts/password/reset/",
            &[("email", "ghost@tessera.test")],
        )
        .await;
    }
    assert_eq!(
        b.submit(
            "/accounts/password/reset/",
            &[("email", "ghost@tessera.test")]
        )
        .await
        .status,
        429
    );
    // After an hour the address may ask again (two of its five a day are used).
    t.clock.advance_secs(3601.0);
    assert_eq!(
        b.submit("/accounts/password/reset/", &[("email", OWNER)])
            .await
            .status,
        302
    );
});

both!(emails_page_is_development_only, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    assert_eq!(b.get("/emails/").await.status, 404);
});

both!(reset_emails_are_limited_per_ip, |t: TestApp| async move {
    let mut b = Browser::new(&t);
    b.get("/accounts/password/reset/").await;
    for i in 0..5 {
        let email = format!("someone{i}@tessera.test");
        assert_eq!(
            b.submit("/accounts/password/reset/", &[("email", email.as_str())])
                .await
                .status,
            302
        );
    }
    let r = b
        .submit("/accounts/password/reset/", &[("email", OWNER)])
        .await;
    assert_eq!(r.status, 429, "Zulip's sends_email_by_ip: 5 a day");
    assert!(link_in_outbox(&t, OWNER).is_none());
});
