//! Assembling the running service: state, HTTP server, background work, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::stream::BoxStream;

use poem::listener::{Acceptor, Listener, RustlsAcceptor, RustlsConfig, TcpAcceptor, TcpListener};

use crate::analytics::Recorder;
use crate::auth::Auth;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::http::cache::ResponseCache;
use crate::http::deadline::Deadlines;
use crate::http::server::{Limits, serve};
use crate::http::state::AppState;
use crate::http::workers::{per_core, serve_per_core};
use crate::http::ws::Feed;
use crate::read::ReadModel;
use crate::scheduler::Scheduler;
use crate::sync::Syncer;

/// How long in-flight requests get to finish after a stop signal.
const GRACE: Duration = Duration::from_secs(10);

/// Options tests use to take control of time.
#[derive(Clone, Default)]
pub struct BuildOptions {
    pub clock: Option<Arc<dyn Clock>>,
}

/// What the server accepts connections with: plain TCP, served by one worker per core
/// (`http::workers`), or TLS over it, served on the shared runtime.
enum Listening {
    Plain(tokio::net::TcpListener),
    Tls(Deadlines<RustlsAcceptor<TcpAcceptor, BoxStream<'static, RustlsConfig>>>),
}

pub struct Application {
    addr: SocketAddr,
    listening: Listening,
    state: Arc<AppState>,
}

impl Application {
    /// Opens the database and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config, options: BuildOptions) -> anyhow::Result<Application> {
        let db_path = config.database.path.clone();
        let (pool_size, max_size_mb) = (config.database.pool_size, config.database.max_size_mb);
        let db = tokio::task::spawn_blocking(move || {
            let db = Db::open(&db_path, pool_size)?;
            db.cap_size_mb(max_size_mb)?;
            Ok::<_, crate::db::DbError>(db)
        })
        .await?
        .with_context(|| format!("opening the database {}", config.database.path.display()))?;
        let bind_failed = || format!("listening on {}", config.server.bind);
        let listening = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => {
                let configs = crate::http::tls::config_stream(cert.clone(), key.clone())?;
                let mut acceptor = TcpListener::bind(config.server.bind)
                    .rustls(configs)
                    .into_acceptor()
                    .await
                    .with_context(bind_failed)?;
                // poem's TLS acceptor loads its first certificate inside its first
                // `accept`, racing any connection already waiting, which it then drops.
                // One short accept now, before the address is announced, loads it while
                // nobody can be waiting yet (TCP accept is cancel-safe).
                let _ = tokio::time::timeout(Duration::from_millis(20), acceptor.accept()).await;
                Listening::Tls(Deadlines::new(acceptor))
            }
            _ => {
                // SIGHUP's default action ends the process, and systemd's reload sends
                // it: without TLS there is nothing to reload, so it is only logged.
                log_hangups()?;
                let listener = tokio::net::TcpListener::bind(config.server.bind)
                    .await
                    .with_context(bind_failed)?;
                Listening::Plain(listener)
            }
        };
        let addr = match &listening {
            Listening::Plain(listener) => Some(listener.local_addr()?),
            Listening::Tls(a) => a
                .local_addr()
                .first()
                .and_then(|a| a.as_socket_addr().copied()),
        }
        .context("the listener has no address")?;
        // The recorder goes in before anything can count: the scheduler's first sync may
        // finish before the routes are made, and a count made with no recorder is lost
        // (the start-up sync was then missing from `goated_sync_runs_total`).
        if config.metrics.enabled {
            let _ = crate::http::metrics::handle();
        }
        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let config = Arc::new(config);
        let events = crate::events::channel();
        let syncer = {
            let (db, config, clock, events) =
                (db.clone(), config.clone(), clock.clone(), events.clone());
            tokio::task::spawn_blocking(move || Syncer::new(db, config, clock, events)).await??
        };
        let (sync, tokens, upstream_limiter) = (syncer.status(), syncer.tokens(), syncer.limiter());
        let auth = {
            let (config, db, now) = (config.clone(), db.clone(), clock.now());
            Arc::new(tokio::task::spawn_blocking(move || Auth::load(&config, &db, now)).await??)
        };
        let scheduler =
            Scheduler::start(syncer, clock.clone()).context("starting the scheduler")?;
        let read = Arc::new(ReadModel::new(
            db.clone(),
            config.clone(),
            clock.clone(),
            sync.clone(),
        ));
        let analytics = config.analytics.enabled;
        let feed = Feed::new(
            config.server.max_websocket_clients,
            config.server.max_websockets_per_ip,
        );
        feed.spawn(events.subscribe(), read.clone());
        crate::notify::spawn(
            config.clone(),
            db.clone(),
            clock.clone(),
            crate::notify::Sources {
                read: read.clone(),
                status: sync.clone(),
                tokens: tokens.clone(),
            },
            events.subscribe(),
        );
        let state = Arc::new(AppState {
            config,
            db,
            clock,
            started: Instant::now(),
            sync,
            scheduler,
            tokens,
            events,
            read,
            responses: Arc::new(ResponseCache::new("responses")),
            feed,
            auth,
            analytics: analytics.then(|| Arc::new(Recorder::new())),
            setup_code: parking_lot::Mutex::new(None),
            upstream_limiter,
        });
        open_setup(&state, addr).await?;
        if analytics {
            spawn_analytics_flush(&state);
        }
        Ok(Application {
            addr,
            listening,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` when the server speaks TLS itself, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self.listening {
            Listening::Plain(_) => "http",
            Listening::Tls(_) => "https",
        }
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish, then closes
    /// the database cleanly.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let routes = crate::http::routes(state.clone());
        let server = &state.config.server;
        let limits = Limits::new(server.max_connections_per_ip, &server.trusted_proxies);
        match self.listening {
            Listening::Plain(listener) => {
                let workers = per_core();
                serve_per_core(
                    listener,
                    routes,
                    Deadlines::new,
                    limits,
                    workers,
                    shutdown,
                    GRACE,
                )
                .await
            }
            Listening::Tls(acceptor) => {
                serve(acceptor, Arc::new(routes), limits, shutdown, GRACE).await
            }
        }
        .context("the HTTP server failed")?;
        if let Err(err) = state.flush_analytics().await {
            tracing::warn!(error = %err, "the last usage analytics were not written");
        }
        let closing = state.clone();
        tokio::task::spawn_blocking(move || {
            closing.scheduler.shutdown();
            closing.db.close()
        })
        .await?
        .context("closing the database")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// While no admin exists, makes this start's setup code and logs the address that uses
/// it (SPEC §14): the operator opens it in a browser, from anywhere.
async fn open_setup(state: &Arc<AppState>, addr: SocketAddr) -> anyhow::Result<()> {
    let has_admin = state.db.read(crate::db::accounts::any_admin).await?;
    if has_admin {
        return Ok(());
    }
    let code = crate::auth::random_token();
    let base = match &state.config.site.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let scheme = if state.config.server.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{addr}")
        }
    };
    // Logged at warn so that a quiet log level still shows it.
    tracing::warn!("first run: create the admin at {base}/setup?code={code}");
    *state.setup_code.lock() = Some(code);
    Ok(())
}

/// Writes the counted requests every `analytics.flush_secs`. The task holds only a
/// weak reference, so it ends with the application.
fn spawn_analytics_flush(state: &Arc<AppState>) {
    let every = Duration::from_secs(state.config.analytics.flush_secs);
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { break };
            // A failed write keeps the counts in memory and logs; nothing else to do.
            let _ = state.flush_analytics().await;
        }
    });
}

/// Takes SIGHUP over from its default (ending the process) and logs each one.
#[cfg(unix)]
fn log_hangups() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: nothing to reload (no TLS certificate is configured)");
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn log_hangups() -> anyhow::Result<()> {
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("stop signal received, finishing in-flight requests");
}
