//! The command line: one binary for the server and its administration.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// tessera — a Zulip-compatible server.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives; every command takes these the same way.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Data folder: the SQLite database and the server secret.
    #[arg(
        long,
        env = "TESSERA_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Use this database instead of the data folder's SQLite (`postgres://…` or `sqlite://…`).
    #[arg(long, env = "TESSERA_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Server secret file (64 hex characters); default DATA_DIR/secret.key, created on first
    /// run. `TESSERA_SECRET` gives the secret itself instead.
    #[arg(long, env = "TESSERA_SECRET_FILE", global = true)]
    pub secret_file: Option<PathBuf>,
    /// The site URL written into zuliprc and server_settings (default: the one `serve` last
    /// used, else http:// + the listen address).
    #[arg(long, env = "TESSERA_SITE_URL", global = true)]
    pub site_url: Option<String>,
    /// The organization's subdomain ("" is the root realm).
    #[arg(long, env = "TESSERA_REALM", default_value = "", global = true)]
    pub realm: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the organization on first start with an empty store).
    Serve(ServeArgs),
    /// Create the organization and its owner (password from stdin or --password-file).
    Init(InitArgs),
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage bots.
    #[command(subcommand)]
    Bot(BotCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print a user's or bot's zuliprc.
    Zuliprc(EmailArg),
    /// Check the store (and, with --url or TESSERA_LISTEN, a running server).
    Healthcheck(HealthArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:9991")]
    pub listen: String,
    /// Serve development-only endpoints (`dev_fetch_api_key`).
    #[arg(long, env = "TESSERA_DEVELOPMENT")]
    pub development: bool,
    /// Organization name used if the first start creates it.
    #[arg(long, env = "TESSERA_ORG_NAME", default_value = "Tessera")]
    pub org_name: String,
    /// Owner email used if the first start creates the organization.
    #[arg(
        long,
        env = "TESSERA_OWNER_EMAIL",
        default_value = "owner@tessera.localhost"
    )]
    pub owner_email: String,
    /// Failed fetch_api_key attempts allowed per client IP per 10 minutes.
    #[arg(long, env = "TESSERA_AUTH_FAILURES_PER_IP", default_value_t = 100)]
    pub auth_failures_per_ip: u32,
    /// Serve Prometheus metrics at http://ADDR/metrics on this separate address (off when
    /// unset; keep it off the public network).
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Authenticated API requests allowed per user per minute (Zulip's `api_by_user`).
    #[arg(long, env = "TESSERA_API_RATE_LIMIT", default_value_t = 200)]
    pub api_rate_limit: u32,
    /// How many API keys each node keeps authenticated in memory.
    #[arg(long, env = "TESSERA_KEY_CACHE_CAPACITY", default_value_t = 100_000)]
    pub key_cache_capacity: u64,
    /// Send email through this SMTP server (`smtp://user:pass@host:587`, `smtps://host:465`);
    /// without it, email is written to DATA_DIR/outbox (listed at /emails/ with --development).
    #[arg(long, env = "TESSERA_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of tessera's email.
    #[arg(long, env = "TESSERA_EMAIL_FROM")]
    pub email_from: Option<String>,
    /// Seconds a client has to send a request's headers (also an idle keep-alive connection's
    /// wait for its next request); slower clients are disconnected.
    #[arg(long, env = "TESSERA_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Seconds a client has to send a request body (a trickled body gets 408).
    #[arg(long, env = "TESSERA_BODY_TIMEOUT", default_value_t = 60)]
    pub body_timeout: u64,
    /// Most connections served at once (capped by the open-file limit, which `serve` raises
    /// to its hard maximum); more wait in the listen backlog.
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// On SIGTERM, seconds in-flight requests get to finish (long polls answer at once).
    #[arg(long, env = "TESSERA_SHUTDOWN_GRACE", default_value_t = 15)]
    pub shutdown_grace: u64,
    /// Accept leak reports at /api/v1/secret_scanning/report signed by these public keys: a
    /// JSON file in the shape GitHub publishes them (`{"public_keys":[{"key_identifier",
    /// "key"}]}`, P-256 PEM keys); read at start, nothing is fetched. Unset: reports are refused.
    #[arg(long, env = "TESSERA_SECRET_SCANNING_KEYS")]
    pub secret_scanning_keys: Option<PathBuf>,
    /// Reverse proxies (addresses and CIDR blocks, comma-separated) whose X-Forwarded-For
    /// names the client: key allow-lists, rate limits and the Devices page then see the
    /// client's address. Unset: the connection's peer is the client.
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
}

#[derive(Debug, Args)]
pub struct PasswordArg {
    /// Read the password from this file instead of stdin.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long)]
    pub org_name: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub full_name: Option<String>,
    #[command(flatten)]
    pub password: PasswordArg,
}

#[derive(Debug, Args)]
pub struct EmailArg {
    #[arg(long)]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct KeyRegenerateArgs {
    #[arg(long)]
    pub email: String,
    /// Bots only: seconds (at most 86400) the old key keeps working; 0, the default, ends it
    /// at once.
    #[arg(long, default_value_t = 0)]
    pub overlap_seconds: i64,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person (password from stdin or --password-file).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: String,
        #[arg(long, default_value = "member", value_parser = ["owner", "admin", "moderator", "member", "guest"])]
        role: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Set a password (from stdin or --password-file).
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Deactivate a user (their key stops working at once).
    Deactivate(EmailArg),
    /// Reactivate a user.
    Reactivate(EmailArg),
}

#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Create a bot; prints its email.
    Create {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        short_name: String,
        #[arg(long = "type", default_value = "generic", value_parser = ["generic", "incoming", "outgoing", "embedded"])]
        bot_type: String,
        /// Outgoing webhook endpoint.
        #[arg(long, default_value = "")]
        payload_url: String,
        /// Embedded bot name (default helloworld).
        #[arg(long)]
        service_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new account API key (prints it); the old one, and every named and device
    /// key of the account, stops working at once. For a bot, --overlap-seconds keeps the old
    /// key working until the window ends or the new key is first used.
    Regenerate(KeyRegenerateArgs),
    /// Tell whether a string is a well-formed tessera API key (shape and checksum) and, unless
    /// --offline, whether it is live; never whose it is. Exit 0: well-formed (and live); 1: not
    /// a tessera key; 3: well-formed but not live.
    Check(KeyCheckArgs),
    /// List an account's keys beside its account key: named keys, signed-in apps (device keys)
    /// and a bot's previous key (id, kind, name, scope, created, expiry, allow-list, last use;
    /// never a key).
    List(EmailArg),
    /// Create a named key for an account and print it (shown only this once).
    Create(KeyCreateArgs),
    /// Revoke one key of an account by its id (a device key: that app is signed out); its
    /// other keys keep working.
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// The account (a person or a bot) the key is for.
    #[arg(long)]
    pub email: String,
    /// The key's name (unique among the account's live keys).
    #[arg(long)]
    pub name: String,
    /// full, read, send, or a comma-separated list of groups (read, send, messages, channels,
    /// settings, admin).
    #[arg(long, default_value = "full")]
    pub scope: String,
    /// Days until the key expires (default: never; the organization may set a longest
    /// lifetime).
    #[arg(long)]
    pub expires_days: Option<u32>,
    /// Addresses and CIDR blocks the key may be used from, comma-separated (default:
    /// anywhere).
    #[arg(long)]
    pub allowed_networks: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    /// The account the key belongs to.
    #[arg(long)]
    pub email: String,
    /// The key's id (from `tessera key list`).
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct KeyCheckArgs {
    /// The string to check (default: the first line of standard input, which keeps a key out
    /// of the process list and the shell history).
    pub key: Option<String>,
    /// Check shape and checksum only; do not open the store.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Base URL of a running server to probe (default: http:// + TESSERA_LISTEN when set).
    #[arg(long)]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
