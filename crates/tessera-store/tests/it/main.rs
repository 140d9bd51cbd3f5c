//! Store tests; each runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_core::SealedSecret;
use tessera_store::testing::fresh_store;
use tessera_store::{Engine, NewApiKey, NewMessage, NewUser, PushKind, Store, StoreError};

fn new_user(realm_id: i64, email: &str, digest: u8) -> NewUser {
    NewUser {
        realm_id,
        email: email.into(),
        delivery_email: email.into(),
        full_name: "Some One".into(),
        role: 400,
        bot_type: None,
        bot_owner_id: None,
        password_hash: None,
        key_digest: vec![digest; 32],
        seal_key: Box::new(|id| SealedSecret {
            nonce: vec![id as u8; 24],
            ciphertext: vec![1, 2, 3],
        }),
        service: None,
        timezone: String::new(),
        default_stream_colors: Vec::new(),
    }
}

async fn each_engine<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let (store, _guard) = fresh_store(engine).await.expect("store");
        f(store).await;
    }
}

#[tokio::test]
async fn bootstrap_runs_once_and_is_all_or_nothing() {
    each_engine(|s| async move {
        let (realm, owner) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "check", 10)
            .await
            .unwrap();
        let user = s.user_by_id(owner).await.unwrap().unwrap();
        assert_eq!((user.realm_id, user.role), (realm, 400));
        // The sealer saw the real id: the associated data binds the row.
        assert_eq!(user.api_key_nonce, vec![owner as u8; 24]);
        let again = s
            .bootstrap("", "Org2", new_user(0, "p@x.org", 2), "check", 11)
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(c)) if c == "initialized"));
        assert_eq!(s.realms().await.unwrap().len(), 1);
        assert!(s.user_by_email(realm, "p@x.org").await.unwrap().is_none());
        assert_eq!(s.audit_for_user(owner).await.unwrap()[0].event_type, 101);
        // Migrating again is a no-op.
        s.migrate().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn emails_are_unique_per_realm_case_insensitively() {
    each_engine(|s| async move {
        let (realm, _) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        let dup = s.create_user(new_user(realm, "O@X.org", 2), None, 2).await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        let other = s.create_realm("sub", "Sub", 3).await.unwrap();
        s.create_user(new_user(other.id, "o@x.org", 3), None, 3)
            .await
            .unwrap();
        assert!(s.email_exists_elsewhere(realm, "o@x.org").await.unwrap());
        // Digests are unique too.
        let same_digest = s.create_user(new_user(realm, "q@x.org", 3), None, 4).await;
        assert!(matches!(same_digest, Err(StoreError::Conflict(_))));
    })
    .await;
}

#[tokio::test]
async fn rotation_is_one_transaction() {
    each_engine(|s| async move {
        let (_, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        s.add_push_device(id, PushKind::Fcm, "tok", None, None, 2)
            .await
            .unwrap();
        s.add_push_device(id, PushKind::Apns, "tok2", Some("app"), None, 2)
            .await
            .unwrap();
        let before = s.latest_invalidation().await.unwrap();
        let sealer = Box::new(|_| SealedSecret {
            nonce: vec![9; 24],
            ciphertext: vec![9],
        });
        let (old, revoked) = s
            .rotate_api_key(id, &[7; 32], sealer, id, 5, None)
            .await
            .unwrap();
        assert_eq!(old, vec![1; 32]);
        assert!(revoked.is_empty());
        assert!(s.auth_by_digest(&[1; 32]).await.unwrap().is_none());
        assert_eq!(
            s.auth_by_digest(&[7; 32]).await.unwrap().unwrap().user_id,
            id
        );
        assert!(s.push_devices_for(id).await.unwrap().is_empty());
        let audit = s.audit_for_user(id).await.unwrap();
        assert_eq!(
            (
                audit.last().unwrap().event_type,
                audit.last().unwrap().acting_user_id
            ),
            (127, Some(id))
        );
        let inval = s.invalidations_since(before).await.unwrap();
        let digests: Vec<_> = inval
            .iter()
            .map(|(_, d)| d.clone().unwrap().0.to_vec())
            .collect();
        assert_eq!(digests, vec![vec![1; 32], vec![7; 32]]);
        let missing = s
            .rotate_api_key(
                999,
                &[8; 32],
                Box::new(|_| SealedSecret {
                    nonce: vec![],
                    ciphertext: vec![],
                }),
                id,
                6,
                None,
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)));
    })
    .await;
}

fn key<'a>(user_id: i64, kind: &'a str, name: &'a str, digest: &'a [u8]) -> NewApiKey<'a> {
    NewApiKey {
        user_id,
        kind,
        name,
        digest,
        scope: 63,
        expires_at: None,
        allowed_networks: None,
        created_address: Some("192.0.2.1"),
        keep_at_most: None,
        made_by_key_id: None,
    }
}

#[tokio::test]
async fn device_keys_are_capped_and_take_their_push_registrations() {
    each_engine(|s| async move {
        let (_, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (i, d) in [[11u8; 32], [12; 32], [13; 32]].iter().enumerate() {
            let new = NewApiKey {
                keep_at_most: Some(2),
                ..key(id, "device", "ZulipMobile", d)
            };
            let now = 10 + i64::try_from(i).unwrap();
            let (row, dropped) = s.create_api_key(new, id, now).await.unwrap();
            // The third login pushes the least recently used (the first) out.
            assert_eq!(dropped.len(), if i == 2 { 1 } else { 0 }, "login {i}");
            ids.push(row.id);
            s.add_push_device(
                id,
                PushKind::Fcm,
                &format!("tok{i}"),
                None,
                Some(row.id),
                now,
            )
            .await
            .unwrap();
        }
        let live: Vec<i64> = s
            .api_keys(id, false)
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(live, [ids[2], ids[1]]);
        assert!(s.auth_by_digest(&[11; 32]).await.unwrap().is_none());
        let tokens: Vec<String> = s
            .push_devices_for(id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.token)
            .collect();
        assert_eq!(tokens.len(), 2);
        assert!(!tokens.contains(&"tok0".to_owned()), "{tokens:?}");
        // Revoking one device takes its registration alone.
        let digest = s
            .revoke_api_key(id, ids[1], Some(id), "signed out", 20, None)
            .await
            .unwrap();
        assert_eq!(digest, [vec![12; 32]]);
        let tokens: Vec<String> = s
            .push_devices_for(id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.token)
            .collect();
        assert_eq!(tokens, ["tok2"]);
        // Revoked twice: nothing the second time, and a revoked key registers nothing.
        assert_eq!(
            s.revoke_api_key(id, ids[1], Some(id), "again", 21, None)
                .await
                .unwrap(),
            Vec::<Vec<u8>>::new()
        );
        s.add_push_device(id, PushKind::Fcm, "late", None, Some(ids[1]), 22)
            .await
            .unwrap();
        assert_eq!(s.push_devices_for(id).await.unwrap().len(), 1);
        let audit: Vec<i64> = s
            .audit_for_user(id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.event_type)
            .collect();
        assert_eq!(audit.iter().filter(|e| **e == 9006).count(), 3);
        assert_eq!(audit.iter().filter(|e| **e == 9007).count(), 2);
    })
    .await;
}

/// The extra data of the audit rows of `event` for `user`, oldest first.
async fn audit_extras(s: &Store, user: i64, event: i64) -> Vec<serde_json::Value> {
    s.audit_for_user(user)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.event_type == event)
        .map(|a| serde_json::from_str(a.extra_data.as_deref().unwrap()).unwrap())
        .collect()
}

/// The key revocations (9007) audited for `user`: key id and why.
async fn revocations(s: &Store, user: i64) -> Vec<(i64, String)> {
    audit_extras(s, user, 9007)
        .await
        .into_iter()
        .map(|extra| {
            let why = extra["why"].as_str().unwrap().to_owned();
            (extra["key_id"].as_i64().unwrap(), why)
        })
        .collect()
}

#[tokio::test]
async fn keys_made_with_a_key_go_with_it() {
    each_engine(|s| async move {
        let (realm, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        let other = s
            .create_user(new_user(realm, "b@x.org", 2), None, 2)
            .await
            .unwrap()
            .id;
        let made = |user, name, d, by| NewApiKey {
            made_by_key_id: by,
            ..key(user, "named", name, d)
        };
        let mut rows = Vec::new();
        for (now, (user, name, d, by)) in [
            (id, "phone", &[41u8; 32], None),
            (id, "child", &[42; 32], Some(0)),
            (id, "grandchild", &[43; 32], Some(1)),
            (other, "bot's", &[44; 32], Some(1)),
            (id, "unrelated", &[45; 32], None),
        ]
        .into_iter()
        .enumerate()
        {
            // `by`: the index of the key it was made with.
            let by = by.map(|i: usize| rows[i]);
            let new = made(user, name, d, by);
            let (row, _) = s.create_api_key(new, id, 3 + now as i64).await.unwrap();
            rows.push(row.id);
        }
        let [phone, child, grandchild, others, _] = rows[..] else {
            panic!("{rows:?}")
        };
        // Signing the phone out ends what was made with it, down the line and across
        // accounts; the unrelated key stays.
        let before = s.latest_invalidation().await.unwrap();
        let mut gone = s
            .revoke_api_key(id, phone, Some(id), "signed out", 10, None)
            .await
            .unwrap();
        assert_eq!(gone[0], vec![41; 32]);
        gone.sort();
        assert_eq!(
            gone,
            [[41; 32], [42; 32], [43; 32], [44; 32]].map(Vec::from)
        );
        let announced = s.invalidations_since(before).await.unwrap().len();
        assert_eq!(announced, 4);
        for d in [[41u8; 32], [42; 32], [43; 32], [44; 32]] {
            assert!(s.auth_by_digest(&d).await.unwrap().is_none(), "{d:?}");
        }
        assert!(s.auth_by_digest(&[45; 32]).await.unwrap().is_some());
        let mut mine = revocations(&s, id).await;
        mine.sort();
        let cascade = "made with a revoked key".to_owned();
        assert_eq!(
            mine,
            [
                (phone, "signed out".to_owned()),
                (child, cascade.clone()),
                (grandchild, cascade.clone())
            ]
        );
        assert_eq!(revocations(&s, other).await, [(others, cascade)]);
        // Each creation's audit row names the key it was made with.
        let made_by: Vec<serde_json::Value> = audit_extras(&s, id, 9006)
            .await
            .into_iter()
            .map(|extra| extra["made_by_key_id"].clone())
            .collect();
        assert_eq!(
            made_by,
            [None, Some(phone), Some(child), None].map(serde_json::Value::from)
        );
    })
    .await;
}

#[tokio::test]
async fn a_rotation_can_keep_the_previous_key() {
    each_engine(|s| async move {
        let (_, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        s.create_api_key(key(id, "named", "ci", &[21; 32]), id, 2)
            .await
            .unwrap();
        let sealer = Box::new(|_| SealedSecret {
            nonce: vec![9; 24],
            ciphertext: vec![9],
        });
        let (old, revoked) = s
            .rotate_api_key(id, &[7; 32], sealer, id, 5, Some(100))
            .await
            .unwrap();
        assert_eq!(revoked, vec![vec![21; 32]]);
        let previous = s.auth_by_digest(&old).await.unwrap().unwrap();
        assert_eq!(previous.key_kind.as_deref(), Some("previous"));
        assert_eq!(previous.key_expires_at, Some(100));
        let account = s.auth_by_digest(&[7; 32]).await.unwrap().unwrap();
        assert_eq!(account.key_id, None);
        assert_eq!(account.previous_key_id, previous.key_id);
        // Retiring it (the new key was used) announces both digests.
        let before = s.latest_invalidation().await.unwrap();
        let got = s
            .revoke_api_key(
                id,
                previous.key_id.unwrap(),
                None,
                "new key used",
                6,
                Some(&[7; 32]),
            )
            .await
            .unwrap();
        assert_eq!(got, std::slice::from_ref(&old));
        let announced: Vec<Vec<u8>> = s
            .invalidations_since(before)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, d)| d.unwrap().0.to_vec())
            .collect();
        assert_eq!(announced, [old.clone(), vec![7; 32]]);
        assert_eq!(
            s.auth_by_digest(&[7; 32])
                .await
                .unwrap()
                .unwrap()
                .previous_key_id,
            None
        );
        assert!(s.auth_by_digest(&old).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn expiry_reminders_are_claimed_once() {
    each_engine(|s| async move {
        let (_, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        for (name, d, at) in [
            ("soon", [31u8; 32], 50),
            ("later", [32; 32], 500),
            ("sooner", [33; 32], 40),
        ] {
            let new = NewApiKey {
                expires_at: Some(at),
                ..key(id, "named", name, &d)
            };
            s.create_api_key(new, id, 1).await.unwrap();
        }
        // A key made to live no longer than the window is not reminded of at all.
        assert!(s.claim_expiring_keys(10, 100, 50).await.unwrap().is_empty());
        let first = s.claim_expiring_keys(10, 100, 0).await.unwrap();
        let mut names: Vec<String> = first.iter().map(|k| k.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["soon", "sooner"]);
        assert!(s.claim_expiring_keys(10, 100, 0).await.unwrap().is_empty());
        // Given back, it is claimed again, but never once it has expired.
        let soon = first.iter().find(|k| k.name == "soon").unwrap().id;
        s.unclaim_expiry_reminder(soon).await.unwrap();
        assert!(s.claim_expiring_keys(60, 100, 0).await.unwrap().is_empty());
        let again: Vec<i64> = s
            .claim_expiring_keys(45, 100, 0)
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(again, [soon]);
    })
    .await;
}

#[tokio::test]
async fn activation_changes_are_idempotent_and_announced() {
    each_engine(|s| async move {
        let (_, id) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        assert!(
            !s.set_active(id, true, id, 2).await.unwrap(),
            "already active"
        );
        let before = s.latest_invalidation().await.unwrap();
        assert!(s.set_active(id, false, id, 3).await.unwrap());
        assert!(!s.set_active(id, false, id, 4).await.unwrap());
        assert_eq!(s.invalidations_since(before).await.unwrap().len(), 1);
        let events: Vec<i64> = s
            .audit_for_user(id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.event_type)
            .collect();
        assert_eq!(events, vec![101, 103]);
        s.set_password(id, "$argon2id$x", id, 5).await.unwrap();
        assert_eq!(
            s.audit_for_user(id)
                .await
                .unwrap()
                .last()
                .unwrap()
                .event_type,
            122
        );
        assert_eq!(s.meta_get("nope").await.unwrap(), None);
        s.meta_set("k", "v1").await.unwrap();
        s.meta_set("k", "v2").await.unwrap();
        assert_eq!(s.meta_get("k").await.unwrap().as_deref(), Some("v2"));
    })
    .await;
}

/// Many writers at once all commit (on SQLite they queue for the one writing connection
/// instead of sleeping in the busy handler), and reads beside them see each commit.
#[tokio::test]
async fn concurrent_writers_all_commit_and_readers_see_them() {
    each_engine(|store| async move {
        let writers = (0..32).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.meta_set(&format!("soak.{i}"), &i.to_string()).await?;
                store.meta_get(&format!("soak.{i}")).await
            })
        });
        for (i, w) in writers.enumerate() {
            let seen = w.await.expect("task").expect("write and read back");
            assert_eq!(seen.as_deref(), Some(i.to_string().as_str()));
        }
    })
    .await;
}

/// A message to more recipients than one `INSERT` batch holds gets every row, with each
/// recipient's own flags, and none when the message is refused.
#[tokio::test]
async fn a_message_reaches_recipients_across_insert_batches() {
    each_engine(|s| async move {
        let (realm, owner) = s
            .bootstrap("", "Org", new_user(0, "o@x.org", 1), "c", 1)
            .await
            .unwrap();
        let mut recipients = vec![(owner, 1)];
        for i in 0..1_100u32 {
            let mut new = new_user(realm, &format!("u{i}@x.org"), 0);
            new.key_digest = [i.to_be_bytes().to_vec(), vec![7; 28]].concat();
            let user = s.create_user(new, None, 2).await.unwrap();
            recipients.push((user.id, if i % 2 == 0 { 0 } else { 8 }));
        }
        let message = NewMessage {
            realm_id: realm,
            sender_id: owner,
            recipient_type: 2,
            recipient_id: 0,
            topic: "t".into(),
            content: "c".into(),
            rendered_content: "<p>c</p>".into(),
            date_sent: 3,
            sending_client: "test".into(),
        };
        let id = s.insert_message(&message, &recipients).await.unwrap();
        let mut expected: Vec<i64> = recipients.iter().map(|(u, _)| *u).collect();
        expected.sort_unstable();
        assert_eq!(s.message_user_ids(id).await.unwrap(), expected);
        for (user, flags) in [
            recipients[0],
            recipients[1],
            recipients[2],
            recipients[1_100],
        ] {
            let row = s.message_for(user, id).await.unwrap().unwrap();
            assert_eq!(row.flags, flags, "user {user}");
        }
        // A recipient that does not exist fails the whole message: no rows at all.
        let mut bad = recipients.clone();
        bad.push((999_999, 0));
        assert!(s.insert_message(&message, &bad).await.is_err());
        assert_eq!(s.message_user_ids(id + 1).await.unwrap(), Vec::<i64>::new());
    })
    .await;
}
