//! The tessera binary: `serve` and the administration commands, all over the same use-cases.

mod cli;
mod health;
mod setup;

use clap::Parser;
use cli::{BotCommand, Cli, Command, KeyCommand, UserCommand};
use std::process::ExitCode;
use tessera_app::{App, AppError, NewBot, Principal};
use tessera_core::{BotType, Role};

/// A failure to report: one line, and the exit code (1 = refused input, 2 = runtime).
struct Failure {
    msg: String,
    code: u8,
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        let code = match e {
            AppError::BadRequest(_) | AppError::UnauthorizedPrincipal(_) | AppError::Config(_) => 1,
            _ => 2,
        };
        Failure {
            msg: e.to_string(),
            code,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure {
            msg: format!("{e:#}"),
            code: 2,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.msg.replace('\n', " "));
            ExitCode::from(f.code)
        }
    }
}

/// The principal used for CLI actions on a user: the user themself, as an operator acting on
/// the account's behalf is recorded in Zulip's audit log.
fn acting_as(user: &tessera_app::UserRow, realm_string_id: &str) -> Option<Principal> {
    Role::from_i64(user.role)?;
    Some(Principal::of_user(user, realm_string_id, false))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let store_args = cli.store.clone();
    match cli.command {
        Command::Serve(args) => setup::serve(&store_args, args).await,
        Command::Init(args) => {
            let app = setup::open(&store_args, None).await?;
            let password = setup::read_password(&args.password.password_file)?;
            let done = app
                .bootstrap(
                    &args.org_name,
                    &args.email,
                    args.full_name.as_deref(),
                    &password,
                )
                .await?;
            println!(
                "created organization \"{}\" at {}",
                args.org_name.trim(),
                done.realm_url
            );
            println!("owner: {} (user id {})", done.email, done.user_id);
            Ok(())
        }
        Command::User(cmd) => user_command(&store_args, cmd).await,
        Command::Bot(BotCommand::Create {
            owner,
            name,
            short_name,
            bot_type,
            payload_url,
            service_name,
        }) => {
            let app = setup::open(&store_args, None).await?;
            let realm = app.realm_for_subdomain(&store_args.realm).await?;
            let owner = app.user_by_email(realm.row.id, &owner).await?;
            let who = acting_as(&owner, &store_args.realm).ok_or_else(|| Failure {
                msg: "bad role in store".into(),
                code: 2,
            })?;
            let bot_type: BotType = bot_type.parse().map_err(|m| Failure { msg: m, code: 1 })?;
            let service_name = match (bot_type, service_name) {
                (BotType::Embedded, None) => Some("helloworld".to_owned()),
                (_, s) => s,
            };
            let new = NewBot {
                full_name: name,
                short_name,
                bot_type: bot_type.as_i64(),
                payload_url,
                interface_type: 1,
                service_name,
            };
            let (bot, _key) = app.create_bot(&who, new).await?;
            println!("{}", bot.email);
            Ok(())
        }
        Command::Key(KeyCommand::Regenerate(a)) => {
            let app = setup::open(&store_args, None).await?;
            let realm = app.realm_for_subdomain(&store_args.realm).await?;
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            let key = app
                .regenerate_api_key_with_overlap(&user, user.id, a.overlap_seconds)
                .await?;
            println!("{}", key.expose());
            Ok(())
        }
        Command::Key(KeyCommand::Check(a)) => key_check(&store_args, a).await,
        Command::Key(cmd) => named_key_command(&store_args, cmd).await,
        Command::Zuliprc(a) => {
            let app = setup::open(&store_args, None).await?;
            let realm = app.realm_for_subdomain(&store_args.realm).await?;
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            print!("{}", app.zuliprc_for(&user).await?);
            Ok(())
        }
        Command::Healthcheck(args) => health::healthcheck(&store_args, args).await,
    }
}

/// `tessera key check`: the verdict on stdout when the string is a well-formed (live) key, on
/// stderr with exit 1 (not a tessera key) or 3 (well-formed, not live) otherwise.
async fn key_check(store_args: &cli::StoreArgs, a: cli::KeyCheckArgs) -> Result<(), Failure> {
    let text = match a.key {
        Some(k) => k,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| Failure {
                msg: format!("cannot read standard input: {e}"),
                code: 2,
            })?;
            line
        }
    };
    let key = tessera_core::ApiKey::parse(&text).map_err(|e| Failure {
        msg: match e {
            tessera_core::ApiKeyError::Malformed => {
                "not a tessera key: an API key is 32 letters and digits".to_owned()
            }
            tessera_core::ApiKeyError::BadChecksum => "not a tessera key: 32 letters and \
                digits, but its checksum does not match (mistyped, or a key of another server)"
                .to_owned(),
        },
        code: 1,
    })?;
    if a.offline {
        println!(
            "well-formed: a tessera API key by shape and checksum (not checked against the store)"
        );
        return Ok(());
    }
    let app = setup::open(store_args, None).await?;
    if app.api_key_is_live(&key).await? {
        println!("live: a tessera API key that authenticates an account now");
        Ok(())
    } else {
        Err(Failure {
            msg: "not live: a well-formed tessera key that no active account holds (replaced by \
                a new key, its account or organization deactivated, or never issued here)"
                .to_owned(),
            code: 3,
        })
    }
}

/// `tessera key list|create|revoke`: an account's keys beside its account key (named, device,
/// previous), acting as the account itself.
async fn named_key_command(store_args: &cli::StoreArgs, cmd: KeyCommand) -> Result<(), Failure> {
    let app = setup::open(store_args, None).await?;
    let realm = app.realm_for_subdomain(&store_args.realm).await?;
    match cmd {
        KeyCommand::List(a) => {
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            let when = |secs: i64| {
                tessera_app::iso_minutes(secs * 1_000_000)
                    .replace('T', " ")
                    .replace("+00:00", " UTC")
            };
            for k in app.list_named_keys(&user).await? {
                let used = k.last_used.map_or("never used".to_owned(), |u| {
                    format!(
                        "last used {} by {} from {}",
                        when(u.timestamp),
                        u.client,
                        u.ip.as_deref().unwrap_or("?")
                    )
                });
                let expires = k.expires.map_or("never".to_owned(), when);
                let networks = k
                    .allowed_networks
                    .map_or("anywhere".to_owned(), |n| n.join(","));
                println!(
                    "{}\t{}\t{}\tscope {}\tcreated {}\texpires {}\tfrom {}\t{}",
                    k.id,
                    k.kind,
                    k.name,
                    k.scope,
                    when(k.date_created),
                    expires,
                    networks,
                    used
                );
            }
        }
        KeyCommand::Create(a) => {
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            let scope = if a.scope.contains(',') {
                let list: Vec<&str> = a.scope.split(',').map(str::trim).collect();
                serde_json::to_string(&list).unwrap_or_default()
            } else {
                a.scope.clone()
            };
            let scope = tessera_core::KeyScope::parse(&scope).map_err(|e| Failure {
                msg: e.to_string(),
                code: 2,
            })?;
            let expires = a
                .expires_days
                .map(|d| app.now().div_euclid(1_000_000) + i64::from(d) * 86_400);
            let networks = match &a.allowed_networks {
                Some(raw) => tessera_core::Networks::parse(raw).map_err(|e| Failure {
                    msg: e.to_string(),
                    code: 2,
                })?,
                None => None,
            };
            let new = tessera_app::NewKey {
                name: a.name,
                scope,
                expires,
                networks,
            };
            let (view, key) = app
                .create_named_key(&user, user.id, new, None, None)
                .await?;
            eprintln!(
                "created key {} ({}); it is shown only this once:",
                view.id, view.name
            );
            println!("{}", key.expose());
        }
        KeyCommand::Revoke(a) => {
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            app.revoke_named_key(&user, a.id, Some(user.id), "revoked")
                .await?;
            eprintln!("revoked key {}", a.id);
        }
        KeyCommand::Regenerate(_) | KeyCommand::Check(_) => {}
    }
    Ok(())
}

async fn user_command(store_args: &cli::StoreArgs, cmd: UserCommand) -> Result<(), Failure> {
    let app: App = setup::open(store_args, None).await?;
    let realm = app.realm_for_subdomain(&store_args.realm).await?;
    match cmd {
        UserCommand::Create {
            email,
            full_name,
            role,
            password,
        } => {
            let role: Role = role.parse().map_err(|m| Failure { msg: m, code: 1 })?;
            let password = setup::read_password(&password.password_file)?;
            let user = app
                .create_user(
                    realm.row.id,
                    &email,
                    &full_name,
                    role,
                    Some(&password),
                    None,
                )
                .await?;
            println!("created user {} (user id {})", user.delivery_email, user.id);
        }
        UserCommand::SetPassword { email, password } => {
            let user = app.user_by_email(realm.row.id, &email).await?;
            let password = setup::read_password(&password.password_file)?;
            app.set_password(&user, &password, user.id).await?;
            println!("password changed for {}", user.delivery_email);
        }
        UserCommand::Deactivate(a) => {
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            let changed = app.deactivate_user(&user, user.id).await?;
            println!(
                "{} {}",
                user.delivery_email,
                if changed {
                    "deactivated"
                } else {
                    "was already deactivated"
                }
            );
        }
        UserCommand::Reactivate(a) => {
            let user = app.user_by_email(realm.row.id, &a.email).await?;
            let changed = app.reactivate_user(&user, user.id).await?;
            println!(
                "{} {}",
                user.delivery_email,
                if changed {
                    "reactivated"
                } else {
                    "was already active"
                }
            );
        }
    }
    Ok(())
}
