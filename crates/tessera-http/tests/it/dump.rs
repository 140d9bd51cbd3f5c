//! A dump of the database (and the data folder without the secret) holds nothing that
//! authenticates: no key (account, named, device, a bot's previous key) or service token in
//! plaintext, hex or base64, and no 32-character candidate in it is accepted as a key.

use crate::both;
use crate::helpers::*;
use base64::Engine as _;
use tessera_core::Role;

async fn dump(t: &TestApp) -> Vec<u8> {
    if let Some(dir) = t.guard.sqlite_dir() {
        // Every file of the store: database, WAL and shared memory.
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        return out;
    }
    let (url, schema) = t.guard.postgres_schema().expect("postgres test store");
    let out = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--schema", &schema, &url])
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn encodings(secret: &str) -> Vec<Vec<u8>> {
    let b = secret.as_bytes();
    vec![
        b.to_vec(),
        hex_lower(b).into_bytes(),
        hex_lower(b).to_uppercase().into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(b)
            .into_bytes(),
        base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(b)
            .into_bytes(),
        b.iter().flat_map(|c| [*c, 0]).collect(), // UTF-16LE
    ]
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

both!(
    no_key_in_any_encoding_authenticates,
    |t: TestApp| async move {
        let mut secrets = vec![t.owner_key.clone()];
        let (id, key) = t.user("member@tessera.test", Role::Member).await;
        secrets.push(key);
        let (dumpy, bot_key, _) = t.bot(t.owner(), "dumpy", 3).await;
        secrets.push(bot_key);
        let (bot2, _, _) = t.bot(t.owner(), "dumpy2", 1).await;
        let rotated = t
            .post(
                &format!("/api/v1/bots/{bot2}/api_key/regenerate"),
                Some(t.owner()),
                &[],
            )
            .await;
        secrets.push(rotated.ok()["api_key"].as_str().unwrap().to_owned());
        let user = t.app.user_row(id).await.unwrap();
        secrets.push(
            t.app
                .regenerate_api_key(&user, id)
                .await
                .unwrap()
                .expose()
                .to_owned(),
        );
        // Named keys, the caller's own and a bot's (only digests are stored).
        for (path, name) in [
            ("/api/v1/users/me/api_keys".to_owned(), "dumped"),
            (format!("/api/v1/bots/{bot2}/api_keys"), "bot-dumped"),
        ] {
            let r = t.post(&path, Some(t.owner()), &[("name", name)]).await;
            secrets.push(r.ok()["api_key"].as_str().unwrap().to_owned());
        }
        // Device keys (an app login each), and a bot's previous key kept for an overlap.
        secrets.push(t.app_login("ZulipMobile/27.200 (Android 14)").await);
        secrets.push(t.app_login("ZulipPython/0.9.1").await);
        let (bot3, previous, _) = t.bot(t.owner(), "dumpy3", 1).await;
        let r = t
            .post(
                &format!("/api/v1/bots/{bot3}/api_key/regenerate"),
                Some(t.owner()),
                &[("overlap_seconds", "3600")],
            )
            .await;
        secrets.push(r.ok()["api_key"].as_str().unwrap().to_owned());
        secrets.push(previous);
        // The outgoing bot's service token (a secret too).
        let rc = t
            .get(&format!("/api/v1/bots/{dumpy}/zuliprc"), Some(t.owner()))
            .await;
        let token = rc
            .text
            .lines()
            .find_map(|l| l.strip_prefix("token="))
            .unwrap()
            .to_owned();
        secrets.push(token);

        let bytes = dump(&t).await;
        assert!(bytes.len() > 1000, "dump looks empty");
        for s in &secrets {
            for enc in encodings(s) {
                assert!(
                    !bytes.windows(enc.len()).any(|w| w == enc.as_slice()),
                    "a secret is readable in the dump"
                );
            }
        }
        // Every 32-character alphanumeric window in the dump is refused as a key.
        let text = String::from_utf8_lossy(&bytes);
        let mut tried = 0;
        for run in text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|r| r.len() >= 32)
        {
            for i in 0..=run.len() - 32 {
                tried += 1;
                let candidate = &run[i..i + 32];
                assert!(
                    t.app
                        .authenticate_api_key("", None, candidate, true, None)
                        .await
                        .is_err(),
                    "dump yields a working key"
                );
            }
        }
        assert!(
            tried > 0,
            "the dump has long alphanumeric runs (digests); they must be tried"
        );
    }
);
