//! Configuration in layers: built-in defaults (the embedded `goated.toml`), the config
//! file, `GOATED_<SECTION>__<KEY>` environment variables, then command-line flags.
//!
//! The embedded default file is the only place defaults are written down, so what
//! `goated default-config` prints and what the binary assumes can never disagree.

mod secret;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use toml::{Table, Value};

pub use secret::Secret;

/// The commented default configuration, compiled into the binary.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../goated.toml");

const ENV_PREFIX: &str = "GOATED_";
/// Environment variables with the prefix that are not configuration keys.
const ENV_NON_KEYS: &[&str] = &["GOATED_CONFIG", "GOATED_ADMIN_PASSWORD"];

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub upstream: UpstreamConfig,
    pub sync: SyncConfig,
    pub race: RaceConfig,
    pub auth: AuthConfig,
    pub admin: AdminConfig,
    pub backup: BackupConfig,
    pub metrics: MetricsConfig,
    pub analytics: AnalyticsConfig,
    pub notify: NotifyConfig,
    pub site: SiteConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NotifyConfig {
    pub discord_webhooks: Vec<Secret>,
    pub telegram_bot_token: Option<Secret>,
    pub telegram_chat_id: Option<String>,
    pub telegram_api_base: String,
    /// The operator's own Discord webhook for alerts (SPEC §14): a secret.
    pub operator_discord_webhook: Option<Secret>,
    /// The operator's own Telegram chat for alerts (with `telegram_bot_token`).
    pub operator_telegram_chat_id: Option<String>,
    /// Hours before the Goated token expires that the operator is told.
    pub token_warning_hours: u32,
    /// How often operator alerts are judged, in seconds.
    pub alert_check_secs: u64,
    pub per_minute: u32,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnalyticsConfig {
    pub enabled: bool,
    pub flush_secs: u64,
    pub keep_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackupConfig {
    pub cron: String,
    pub dir: PathBuf,
    pub keep: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsConfig {
    pub enabled: bool,
    #[serde(deserialize_with = "nets")]
    pub allowed_ips: Vec<IpNet>,
}

/// A list of networks, each written as a CIDR (`10.0.0.0/8`) or a bare address
/// (`127.0.0.1`, taken as `/32`; `::1` as `/128`), as nginx's `set_real_ip_from` takes.
fn nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let items = Vec::<String>::deserialize(d)?;
    items
        .iter()
        .map(|item| parse_net(item).map_err(serde::de::Error::custom))
        .collect()
}

/// One network: a CIDR or a bare address.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is neither an address nor a CIDR"))
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    #[serde(deserialize_with = "nets")]
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limit_per_minute: u32,
    pub max_websocket_clients: usize,
    /// Sockets on `/ws` one client address (an IPv6 /64) may hold at once.
    pub max_websockets_per_ip: usize,
    /// Open connections one client address (an IPv6 /64) may hold at once; more are
    /// closed as they arrive. Trusted proxies are not counted (SPEC §17).
    pub max_connections_per_ip: usize,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    pub pool_size: u32,
    /// The most the database file may grow to, in MiB; 0 is no cap but the disk's.
    pub max_size_mb: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamMode {
    Live,
    Demo,
    Auto,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UpstreamConfig {
    pub mode: UpstreamMode,
    pub base_url: String,
    pub referral_code: Option<String>,
    pub token: Option<Secret>,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub requests_per_minute: u32,
    /// Entries an answer may hold before it is suspect (SPEC §17).
    pub max_entries: usize,
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    pub demo_players: u32,
    pub demo_seed: u64,
    pub demo_history_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncConfig {
    pub leaderboard_cron: String,
    pub demo_cron: String,
    pub on_startup: bool,
    pub housekeeping_cron: String,
    pub keep_sync_runs_days: u32,
    pub month_end_minutes: u32,
    pub breaker_failures: u32,
    pub breaker_cooldown_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RaceConfig {
    pub timezone_offset_minutes: i32,
    pub prize_pool: f64,
    pub prize_distribution: Vec<f64>,
    pub min_wager: f64,
    pub transition_hours: u32,
    pub name_masking: crate::domain::masking::NameMasking,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthConfig {
    pub jwt_secret: Option<Secret>,
    pub password_hash_concurrency: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdminConfig {
    #[serde(deserialize_with = "nets")]
    pub allowed_ips: Vec<IpNet>,
    pub signing_secret: Option<Secret>,
    /// Admins whose session began with two-factor may use the admin API from anywhere.
    pub remote_with_totp: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SiteConfig {
    /// `https://races.example.com`: where people reach the site.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    pub level: String,
}

/// A configuration problem, always naming the key (or source) it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot read the config file {path}: {message}")]
    File { path: PathBuf, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Everything configuration can come from, gathered by the caller so that tests can
/// pass their own environment instead of the process's.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config` or `GOATED_CONFIG`: must exist when given.
    pub explicit_file: Option<PathBuf>,
    /// `./goated.toml`: read only when present.
    pub implicit_file: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub bind: Option<String>,
    pub db: Option<PathBuf>,
}

impl Sources {
    /// The process's own environment and working directory.
    pub fn from_process(
        config: Option<PathBuf>,
        bind: Option<String>,
        db: Option<PathBuf>,
    ) -> Self {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let explicit_file = config.or_else(|| {
            env.iter()
                .find(|(k, _)| k == "GOATED_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        Sources {
            explicit_file,
            implicit_file: Some(PathBuf::from("goated.toml")),
            env,
            bind,
            db,
        }
    }
}

/// A loaded configuration and the unknown keys that were ignored on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub unknown_keys: Vec<String>,
}

impl Config {
    /// The built-in defaults alone.
    pub fn defaults() -> Config {
        Config::load(&Sources::default())
            .expect("the embedded default config is valid")
            .config
    }

    pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
        let mut tree = parse_toml(DEFAULT_CONFIG_TOML, Path::new("<built-in defaults>"))?;
        let defaults = tree.clone();
        if let Some(file) = config_file(sources)? {
            let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::File {
                path: file.clone(),
                message: e.to_string(),
            })?;
            merge(&mut tree, parse_toml(&text, &file)?);
        }
        let mut unknown_keys = Vec::new();
        for (name, raw) in &sources.env {
            match env_key(name) {
                Some([section, key]) => {
                    let value = env_value(name, &section, &key, raw, &defaults)?;
                    set_path(&mut tree, &[&section, &key], value);
                }
                None if ENV_NON_KEYS.contains(&name.as_str()) => {}
                None => unknown_keys.push(name.clone()),
            }
        }
        if let Some(bind) = &sources.bind {
            set_path(&mut tree, &["server", "bind"], Value::String(bind.clone()));
        }
        if let Some(db) = &sources.db {
            set_path(
                &mut tree,
                &["database", "path"],
                Value::String(db.display().to_string()),
            );
        }
        let config = deserialize(tree, &mut unknown_keys)?;
        config.validate()?;
        Ok(Loaded {
            config,
            unknown_keys,
        })
    }
}

fn config_file(sources: &Sources) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(file) = &sources.explicit_file {
        if !file.is_file() {
            return Err(ConfigError::File {
                path: file.clone(),
                message: "no such file".into(),
            });
        }
        return Ok(Some(file.clone()));
    }
    Ok(sources.implicit_file.clone().filter(|f| f.is_file()))
}

fn parse_toml(text: &str, path: &Path) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Overlays `top` onto `base`, table by table.
fn merge(base: &mut Table, top: Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(t)) => merge(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_path(tree: &mut Table, path: &[&str], value: Value) {
    let (last, sections) = path.split_last().expect("a key path is never empty");
    let mut table = tree;
    for section in sections {
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        table = entry.as_table_mut().expect("just made a table");
    }
    table.insert(last.to_string(), value);
}

/// `GOATED_UPSTREAM__BASE_URL` → `["upstream", "base_url"]`.
fn env_key(name: &str) -> Option<[String; 2]> {
    let rest = name.strip_prefix(ENV_PREFIX)?;
    let (section, key) = rest.split_once("__")?;
    if section.is_empty() || key.is_empty() {
        return None;
    }
    Some([section.to_ascii_lowercase(), key.to_ascii_lowercase()])
}

/// An environment value is a string when the key holds a string (or has no default,
/// as the optional secrets do); otherwise it is read as a TOML value (`600`, `[0.5, 0.5]`).
fn env_value(
    name: &str,
    section: &str,
    key: &str,
    raw: &str,
    defaults: &Table,
) -> Result<Value, ConfigError> {
    let default = defaults
        .get(section)
        .and_then(Value::as_table)
        .and_then(|table| table.get(key));
    if matches!(default, None | Some(Value::String(_))) {
        return Ok(Value::String(raw.to_string()));
    }
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .ok_or_else(|| {
            ConfigError::invalid(
                format!("{section}.{key}"),
                format!("{name}={raw:?} is not a valid value"),
            )
        })
}

fn deserialize(tree: Table, unknown: &mut Vec<String>) -> Result<Config, ConfigError> {
    let value = Value::Table(tree);
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let ignored = serde_ignored::Deserializer::new(value, &mut record);
    serde_path_to_error::deserialize(ignored).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::invalid(key, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests;
