//! The command line. `main.rs` calls [`main`]; everything here parses, loads the
//! configuration and hands over to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::{Application, BuildOptions, stop_signal};
use crate::config::{Config, DEFAULT_CONFIG_TOML, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "goated",
    version,
    about = "Live monthly wager races for a Goated.com affiliate"
)]
pub struct Cli {
    /// The configuration file (default: ./goated.toml when present; also GOATED_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Listen address, overriding server.bind.
    #[arg(long, global = true)]
    pub bind: Option<String>,
    /// The SQLite file, overriding database.path.
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Write an online, consistent copy of the database to PATH (which must not exist).
    Backup { path: PathBuf },
    /// Print the commented default configuration.
    DefaultConfig,
    /// Exit 0 when the server at the configured address answers /api/health.
    Healthcheck,
    /// Run one sync now, print a summary, and exit non-zero unless it succeeded.
    Sync,
    /// Manage admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Re-check every finished race: its stored standings must still give the digest of
    /// its proof, and each proof must name the digest of the race finalized before it.
    /// Exits non-zero on any break, naming the race.
    VerifyRaces,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account, or make an existing account an admin and set its
    /// password. The password is asked for (without echo) on a terminal, else read from
    /// standard input, or taken from GOATED_ADMIN_PASSWORD. Prints the database file it
    /// wrote; exits 2 when that file does not exist, unless --create is given.
    Create {
        username: String,
        /// Make the database file when it does not exist yet.
        #[arg(long)]
        create: bool,
    },
}

/// A mistake in how the command was run (a wrong folder, say): exit status 2, as for
/// bad configuration, so a script can tell it from a failure of the work itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::DefaultConfig) = cli.command {
        print!("{DEFAULT_CONFIG_TOML}");
        return ExitCode::SUCCESS;
    }
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, crate::config::ConfigError> {
    let sources = Sources::from_process(cli.config.clone(), cli.bind.clone(), cli.db.clone());
    let loaded = Config::load(&sources)?;
    crate::telemetry::init(&loaded.config.log.level);
    for key in &loaded.unknown_keys {
        tracing::warn!(key = %key, "unknown configuration key ignored");
    }
    Ok(loaded.config)
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => runtime()?.block_on(serve(config)),
        Command::Migrate => {
            let db = crate::db::Db::open(&config.database.path, 1)?;
            println!(
                "database {} is at schema version {}",
                db.path().display(),
                crate::db::SCHEMA_VERSION
            );
            Ok(())
        }
        Command::Backup { path } => backup(&config.database.path, &path),
        Command::Healthcheck => healthcheck(&config),
        Command::Sync => sync_once(config),
        Command::Admin(AdminCommand::Create { username, create }) => {
            create_admin(&config, &username, create)
        }
        Command::VerifyRaces => verify_races(&config),
        Command::DefaultConfig => unreachable!("handled before the configuration is loaded"),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config, BuildOptions::default()).await?;
    let (addr, scheme) = (app.local_addr(), app.scheme());
    tracing::info!(%addr, scheme, source = app.state().source_name(), "listening");
    println!("goated is running at {scheme}://{addr}/ (API docs at {scheme}://{addr}/docs)");
    app.run_until_stopped(stop_signal()).await
}

fn backup(db: &Path, target: &Path) -> anyhow::Result<()> {
    if target.exists() {
        bail!("{} already exists; choose a new file", target.display());
    }
    if !db.is_file() {
        bail!("there is no database at {}", db.display());
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    crate::db::backup(&conn, target).context("writing the backup")?;
    let size = std::fs::metadata(target)?.len();
    println!(
        "backed up {} to {} ({size} bytes)",
        db.display(),
        target.display()
    );
    Ok(())
}

fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut addr = config.server.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let tls = config.server.tls_cert.is_some();
    let url = format!("{}://{addr}/api/health", if tls { "https" } else { "http" });
    // A liveness probe of our own server on this machine: over built-in HTTPS it does
    // not check the certificate, which names the public domain, not this address.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(tls)
                .build(),
        )
        .build()
        .into();
    let resp = agent
        .get(&url)
        .call()
        .with_context(|| format!("{url} did not answer"))?;
    println!("{url}: {}", resp.status());
    Ok(())
}

fn sync_once(config: Config) -> anyhow::Result<()> {
    let db = crate::db::Db::open(&config.database.path, 2)?;
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let mut syncer = crate::sync::Syncer::new(
        db.clone(),
        std::sync::Arc::new(config),
        clock,
        crate::events::channel(),
    )?;
    let report = syncer.run(crate::sync::Trigger::Cli)?;
    let o = &report.outcome;
    println!(
        "sync #{} ({}): {}; attempts {}, HTTP status {}, received {}, accepted {}, rejected {}",
        report.run_id,
        syncer.current_source().as_str(),
        o.outcome,
        o.attempts,
        o.http_status.map_or("-".into(), |s| s.to_string()),
        o.received.map_or("-".into(), |n| n.to_string()),
        o.accepted.map_or("-".into(), |n| n.to_string()),
        o.rejected.map_or("-".into(), |n| n.to_string()),
    );
    for race in &report.finalized {
        println!("race {race} finalized");
    }
    db.close()?;
    match (&o.error, report.succeeded()) {
        (_, true) => Ok(()),
        (Some(err), false) => bail!(
            "{} ({}): {err}",
            o.outcome,
            o.error_class.map_or("-", |c| c.as_str())
        ),
        (None, false) => bail!("{}", o.outcome),
    }
}

fn verify_races(config: &Config) -> anyhow::Result<()> {
    if !config.database.path.is_file() {
        bail!("no database at {}", config.database.path.display());
    }
    let db = crate::db::Db::open(&config.database.path, 1)?;
    let (checked, breaks) = crate::db::proofs::verify(&*db.reader()?)?;
    db.close()?;
    for b in &breaks {
        println!("race {}: {}", b.race_id, b.problem);
    }
    if breaks.is_empty() {
        println!("{checked} races checked: every proof and link holds");
        Ok(())
    } else {
        let races: Vec<&str> = breaks.iter().map(|b| b.race_id.as_str()).collect();
        bail!(
            "{} break(s) in {checked} races: {}",
            breaks.len(),
            races.join(", ")
        )
    }
}

/// The new admin's password: from `GOATED_ADMIN_PASSWORD`, else asked for twice without
/// echo on a terminal (it may be on stream), else one line of standard input.
fn admin_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if let Ok(password) = std::env::var("GOATED_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for admin {username}: "))
            .context("reading the password")?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("reading the password")?;
        if first != again {
            bail!(UsageError(
                "the two passwords differ; nothing was changed".into()
            ));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn create_admin(config: &Config, username: &str, create: bool) -> anyhow::Result<()> {
    use crate::auth::password::{check_strength, hash_now};
    use crate::db::accounts;
    if let Err(why) = crate::domain::ids::Username::parse(username) {
        bail!(UsageError(why.to_string()));
    }
    let path = &config.database.path;
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
    // Run from the wrong folder, `goated.db` is a new, empty file beside it: an admin
    // nobody's server reads.
    if !path.exists() && !create {
        bail!(UsageError(format!(
            "there is no database at {} (run this where the server runs, or give --db or \
             --config; --create makes a new database there)",
            shown.display()
        )));
    }
    let password = admin_password(username)?;
    check_strength(&password, username).map_err(|m| anyhow::anyhow!(m))?;
    let hash = hash_now(&password).map_err(|e| anyhow::anyhow!(e))?;
    let db = crate::db::Db::open(path, 1)?;
    let now = crate::db::timestamp(chrono::Utc::now());
    let created = db.write_blocking(|tx| match accounts::by_login(tx, username)? {
        Some(existing) => {
            // A new password ends every session made with the old one.
            accounts::set_password_and_role(
                tx,
                existing.id,
                &hash,
                crate::domain::accounts::Role::Admin,
                &now,
            )?;
            accounts::end_sessions(tx, existing.id, &now)?;
            // The way back from a lost phone: two-factor starts over with the password.
            crate::db::totp::remove(tx, existing.id)?;
            Ok(false)
        }
        None => {
            accounts::create(
                tx,
                username,
                None,
                &hash,
                crate::domain::accounts::Role::Admin,
                &now,
            )?;
            Ok(true)
        }
    })?;
    db.close()?;
    if created {
        println!("created admin {username} in {}", shown.display());
    } else {
        println!(
            "promoted admin {username} in {}; its sessions were ended and its two-factor \
             turned off (turn it on again on the admin page)",
            shown.display()
        );
    }
    Ok(())
}
