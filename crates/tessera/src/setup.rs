//! Opening the store and the secret, and running the server.

use crate::Failure;
use crate::cli::{ServeArgs, StoreArgs};
use anyhow::Context;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_app::{App, Config, Store, SystemClock};
use tessera_core::ServerSecret;
use url::Url;

const DEFAULT_SITE: &str = "http://127.0.0.1:9991";

fn fail(msg: impl Into<String>) -> Failure {
    Failure {
        msg: msg.into(),
        code: 1,
    }
}

/// Read a password from `--password-file` or one line of stdin (trailing newline removed).
pub fn read_password(file: &Option<PathBuf>) -> Result<String, Failure> {
    let mut text = String::new();
    match file {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| fail(format!("cannot read the password from stdin: {e}")))?;
        }
    }
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(fail(
            "no password given (pipe it on stdin or use --password-file)",
        ));
    }
    Ok(line)
}

fn database_url(args: &StoreArgs) -> Result<String, Failure> {
    if let Some(url) = &args.database_url {
        return Ok(url.clone());
    }
    create_private_dir(&args.data_dir)?;
    Ok(format!(
        "sqlite://{}",
        args.data_dir.join("tessera.db").display()
    ))
}

fn create_private_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        fail(format!(
            "cannot create the data folder {}: {e}",
            dir.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Load the server secret: `TESSERA_SECRET`, else the secret file. A missing file is created
/// (mode 0600) only for a store that was never initialised; otherwise it is an error, since a
/// new secret could not open any stored key.
async fn load_secret(args: &StoreArgs, store: &Store) -> Result<ServerSecret, Failure> {
    if let Ok(hex) = std::env::var("TESSERA_SECRET") {
        return ServerSecret::from_hex(&hex).map_err(|e| fail(format!("TESSERA_SECRET: {e}")));
    }
    let path = args
        .secret_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("secret.key"));
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fail(format!(
                "cannot read the server secret {}: {e}",
                path.display()
            ))
        })?;
        return ServerSecret::from_hex(&text).map_err(|e| fail(format!("{}: {e}", path.display())));
    }
    let initialised = store
        .meta_get("secret_check")
        .await
        .map_err(|e| fail(e.to_string()))?
        .is_some();
    if initialised {
        return Err(fail(format!(
            "the server secret {} is missing, but this store was initialised with one; restore it or set TESSERA_SECRET",
            path.display()
        )));
    }
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    let hex = ServerSecret::generate_hex();
    write_private(&path, &hex)
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    ServerSecret::from_hex(&hex).map_err(|e| fail(e.to_string()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Open the store and build the app with the default configuration.
pub async fn open(args: &StoreArgs, serve_site: Option<Url>) -> Result<App, Failure> {
    open_with(args, serve_site, |_| {}).await
}

/// Open the store and build the app; `serve_site` is the serve command's site URL and `tweak`
/// adjusts the configuration before the app is assembled.
pub async fn open_with(
    args: &StoreArgs,
    serve_site: Option<Url>,
    tweak: impl FnOnce(&mut Config),
) -> Result<App, Failure> {
    let url = database_url(args)?;
    let store = Store::connect(&url)
        .await
        .map_err(|e| fail(format!("cannot open the database: {e}")))?;
    store
        .migrate()
        .await
        .map_err(|e| fail(format!("cannot migrate the database: {e}")))?;
    let secret = load_secret(args, &store).await?;
    tessera_app::check_secret(&store, &secret).await?;
    let site = match serve_site {
        Some(s) => s,
        None => {
            let stored = store
                .meta_get("site_url")
                .await
                .map_err(|e| fail(e.to_string()))?;
            let raw = args
                .site_url
                .clone()
                .or(stored)
                .unwrap_or_else(|| DEFAULT_SITE.to_owned());
            parse_site(&raw)?
        }
    };
    let mut config = Config::new(site);
    config.mail.transport = tessera_app::MailTransport::Outbox(args.data_dir.join("outbox"));
    config.development =
        std::env::var("TESSERA_DEVELOPMENT").is_ok_and(|v| v == "1" || v == "true");
    tweak(&mut config);
    Ok(App::new(store, secret, config, Arc::new(SystemClock))?)
}

fn parse_site(raw: &str) -> Result<Url, Failure> {
    let url = Url::parse(raw.trim_end_matches('/'))
        .map_err(|e| fail(format!("invalid site URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(fail(format!(
            "invalid site URL {raw:?}: must be http(s)://host[:port]"
        )));
    }
    Ok(url)
}

/// How to run this binary's CLI against the same data, as the person started it: through
/// `cargo run` when the binary is cargo's build, else the binary's path; with the data
/// options that differ from the defaults.
fn cli_command(args: &StoreArgs) -> String {
    let exe = std::env::current_exe().ok();
    // cargo's own build: <…>/target/{debug,release}/tessera.
    let profile = exe.as_ref().and_then(|p| {
        let dir = p.parent()?;
        let in_target = dir.parent()?.file_name()? == "target";
        in_target.then(|| dir.file_name()?.to_str().map(str::to_owned))?
    });
    let mut cmd = match (&exe, profile.as_deref()) {
        (_, Some("release")) => "cargo run --release --".to_owned(),
        (_, Some("debug")) => "cargo run --".to_owned(),
        (Some(p), _) => shell_quote(&p.display().to_string()),
        (None, _) => "tessera".to_owned(),
    };
    if args.data_dir != std::path::Path::new("./data") {
        cmd.push_str(&format!(
            " --data-dir {}",
            shell_quote(&args.data_dir.display().to_string())
        ));
    }
    if args.database_url.is_some() {
        cmd.push_str(" --database-url …");
    }
    if let Some(secret) = &args.secret_file {
        cmd.push_str(&format!(
            " --secret-file {}",
            shell_quote(&secret.display().to_string())
        ));
    }
    if !args.realm.is_empty() {
        cmd.push_str(&format!(" --realm {}", shell_quote(&args.realm)));
    }
    cmd
}

/// Quote for a POSIX shell when needed.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `tessera serve`.
pub async fn serve(args: &StoreArgs, serve: ServeArgs) -> Result<(), Failure> {
    let raw_site = args
        .site_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", serve.listen));
    let site = parse_site(&raw_site)?;
    let scanning_keys = match &serve.secret_scanning_keys {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
            let keys = tessera_core::secret_scanning::PublicKeys::from_json(&text)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?;
            Some(keys)
        }
        None => None,
    };
    let trusted_proxies = match &serve.trusted_proxies {
        Some(raw) => tessera_core::Networks::parse(raw)
            .map_err(|e| fail(format!("--trusted-proxies: {e}")))?,
        None => None,
    };
    let app = open_with(args, Some(site), |config| {
        config.secret_scanning_keys = scanning_keys;
        config.trusted_proxies = trusted_proxies;
        config.development = serve.development;
        config.auth_failures_by_ip = (600, serve.auth_failures_per_ip);
        config.api_by_user = (60, serve.api_rate_limit.max(1));
        config.key_cache_capacity = serve.key_cache_capacity.max(1);
        if let Some(url) = &serve.smtp_url {
            config.mail.transport = tessera_app::MailTransport::Smtp(url.clone());
        }
        if let Some(from) = &serve.email_from {
            config.mail.from = from.clone();
        }
    })
    .await?;
    let site_text = app.realm_url("");
    app.record_site_url(&site_text)
        .await
        .map_err(|e| fail(e.to_string()))?;

    let first_start = !app.is_initialized().await?;
    if first_start {
        let password = tessera_core::api_key::random_base62(20);
        let done = app
            .bootstrap(&serve.org_name, &serve.owner_email, None, &password)
            .await?;
        println!(
            "tessera: first start, created organization \"{}\"",
            serve.org_name
        );
        println!(
            "  log in:   {}/login/",
            done.realm_url.trim_end_matches('/')
        );
        println!("  owner:    {}", done.email);
        let cli = cli_command(args);
        println!(
            "  password: {password}   (shown once; change it with: {cli} user set-password --email {})",
            done.email
        );
        println!(
            "  API:      {cli} zuliprc --email {} > ~/.zuliprc   (or POST /api/v1/fetch_api_key)",
            done.email
        );
    }
    app.key_cache().start_listener().await;
    if app.start_event_fanout().await? {
        tracing::info!("event fan-out through PostgreSQL is running");
    }
    // Invalidation rows only matter for a few seconds; keep the table small. The same tick
    // sends expiry reminders.
    let pruner = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            pruner.prune_expired().await;
            // Named keys that expire within a week: their owners are told (once).
            if let Err(e) = pruner.send_key_expiry_reminders().await {
                tracing::warn!(error = %e.detail(), "sending key expiry reminders failed");
            }
        }
    });
    // Idle event queues expire after 10 minutes; sweep every minute, as Zulip does.
    let sweeper = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            sweeper.events().gc(sweeper.now());
        }
    });
    if let Some(addr) = &serve.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        println!(
            "tessera: metrics on http://{}/metrics",
            metrics.local_addr().map_err(anyhow::Error::from)?
        );
        let for_metrics = app.clone();
        tokio::spawn(async move {
            if let Err(e) = tessera_http::serve_metrics(metrics, for_metrics).await {
                tracing::warn!(error = %e, "metrics listener stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(&serve.listen)
        .await
        .with_context(|| format!("cannot listen on {}", serve.listen))?;
    let addr = listener.local_addr().map_err(anyhow::Error::from)?;
    // The site URL is printed once: the first start names its login page already.
    if first_start || site_text.trim_end_matches('/') == format!("http://{addr}") {
        println!("tessera: listening on {addr}");
    } else {
        println!("tessera: serving {site_text}, listening on {addr}");
    }
    tracing::info!(%addr, site = %site_text, engine = ?app.engine(), "listening");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    // Each connection is a file descriptor: raise the soft limit to the hard one, and serve no
    // more connections than that leaves room for (the database, files, the listener).
    let nofile = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let fit = usize::try_from(nofile.saturating_sub(256))
        .unwrap_or(usize::MAX)
        .max(16);
    let max_connections = serve.max_connections.clamp(1, fit);
    if max_connections < serve.max_connections {
        tracing::warn!(
            nofile,
            max_connections,
            "the open-file limit caps the connections served at once"
        );
    }
    let limits = tessera_http::ServeLimits {
        header_timeout: std::time::Duration::from_secs(serve.header_timeout.max(1)),
        body_timeout: std::time::Duration::from_secs(serve.body_timeout.max(1)),
        max_connections,
        shutdown_grace: std::time::Duration::from_secs(serve.shutdown_grace),
    };
    tessera_http::serve(listener, app.clone(), shutdown, limits)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!("stopped");
    app.close_store().await;
    Ok(())
}
