use std::sync::Arc;

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use crate::db::sync_runs::SyncRun;
use crate::http::envelope::Success;
use crate::http::error::ApiResult;
use crate::http::state::AppState;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer, the upstream refuses the
    /// token, or syncs fail for a reason on this server (`localFailure`).
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub database_ok: bool,
    /// `live` or `demo` (simulated data).
    pub source: String,
    /// The last sync run, whatever its outcome; null before the first.
    #[oai(skip_serializing_if_is_none)]
    pub last_sync: Option<LastSync>,
    /// When the last successful sync started; null before the first.
    #[oai(skip_serializing_if_is_none)]
    pub last_synced_at: Option<String>,
    /// True when the data served is older than it should be (see SPEC: twice the sync
    /// interval) or the last sync failed.
    pub stale: bool,
    /// Set while syncs fail for a reason on this server, such as a full disk (the
    /// failed runs may not even be in the runs log); the data served is the last good.
    #[oai(skip_serializing_if_is_none)]
    pub local_failure: Option<LocalFailureHealth>,
    pub upstream: UpstreamHealth,
    pub notifications: NotificationsHealth,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LocalFailureHealth {
    /// When syncs began failing this way.
    pub since: String,
    pub message: String,
}

/// Discord and Telegram deliveries.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct NotificationsHealth {
    /// How many destinations are configured (0: notifications are off).
    pub destinations: u32,
    /// Messages waiting to be sent (or retried).
    pub pending: i64,
    /// Destinations that refused a message (4xx): nothing is sent to them until an admin
    /// sends a test message.
    pub paused: Vec<PausedDestination>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PausedDestination {
    /// `discord-1`, `discord-2`, …, or `telegram` (never the secret URL).
    pub destination: String,
    pub since: String,
    pub reason: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LastSync {
    pub id: i64,
    pub trigger: String,
    /// `success`, `failed`, `suspect`, `skipped` or `interrupted`.
    pub outcome: String,
    pub started_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<String>,
    /// `temporary`, `authentication`, `rate_limit`, `permanent`, `payload` or `circuit_open`.
    #[oai(skip_serializing_if_is_none)]
    pub error_class: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub accepted: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub rejected: Option<i64>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UpstreamHealth {
    /// True when the upstream refused the current token: syncing waits for a new one.
    pub auth_failed: bool,
    /// The `exp` of the upstream token, when it has one (live mode).
    #[oai(skip_serializing_if_is_none)]
    pub token_expires_at: Option<String>,
    /// True from three days before the token expires.
    pub token_expires_soon: bool,
    /// The circuit breaker: `closed`, `open` or `half_open`.
    pub circuit: String,
}

impl From<&SyncRun> for LastSync {
    fn from(r: &SyncRun) -> Self {
        LastSync {
            id: r.id,
            trigger: r.trigger.clone(),
            outcome: r.outcome.to_string(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            error_class: r.error_class.map(|c| c.to_string()),
            accepted: r.accepted,
            rejected: r.rejected,
        }
    }
}

pub struct HealthApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: version, uptime, database state, data source, last sync, upstream state.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> ApiResult<Success<Health>> {
        let database_ok = self.state.db.ping().await;
        let now = self.state.clock.now();
        let sync = self.state.sync.read().clone();
        let auth_failed = sync.auth_failure.is_some();
        let destinations = crate::notify::destinations(&self.state.config).len() as u32;
        let (pending, paused) = if destinations == 0 {
            (0, Vec::new())
        } else {
            self.state
                .db
                .read(|c| {
                    Ok((
                        crate::db::notifications::pending_count(c)?,
                        crate::db::notifications::paused(c)?,
                    ))
                })
                .await
                .unwrap_or_default()
        };
        Ok(Success::new(&Health {
            status: if database_ok && !auth_failed && sync.local_failure.is_none() {
                "ok"
            } else {
                "degraded"
            }
            .to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.state.started.elapsed().as_secs(),
            database_ok,
            source: sync.source.as_str().to_string(),
            last_sync: sync.last_run.as_ref().map(LastSync::from),
            last_synced_at: sync.last_synced_at().map(crate::db::timestamp),
            stale: sync.is_stale(now),
            local_failure: sync.local_failure.as_ref().map(|f| LocalFailureHealth {
                since: crate::db::timestamp(f.since),
                message: f.message.clone(),
            }),
            upstream: UpstreamHealth {
                auth_failed,
                token_expires_at: sync.token_expires_at.map(crate::db::timestamp),
                token_expires_soon: sync.token_expires_soon(now),
                circuit: sync.circuit.as_str().to_string(),
            },
            notifications: NotificationsHealth {
                destinations,
                pending,
                paused: paused
                    .into_iter()
                    .map(|(destination, since, reason)| PausedDestination {
                        destination,
                        since,
                        reason,
                    })
                    .collect(),
            },
        }))
    }
}
