//! `/api/admin/*`: reachable only from `admin.allowed_ips` (checked by the gate before
//! routing), only for accounts the database says are admins, and for the sensitive
//! writes (sync, cache flush, token replacement) also by signed request. Every action
//! is audited.

use std::sync::Arc;
use std::time::Duration;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::session::{AdminOrSigned, AuditRow, BearerAuth, admin, admin_or_signed, audit};
use super::shapes::{
    Omittable, Pagination, Text, default_page, default_page_limit, offset, paginated,
};
use super::verification::ClaimView;
use crate::analytics::hour_of;
use crate::analytics::report::{self, AnalyticsReport};
use crate::db::analytics as db_analytics;
use crate::db::audit::Action;
use crate::db::sync_runs::{self, SyncRun};
use crate::db::{races as db_races, timestamp, verification};
use crate::domain::prizes::check_distribution;
use crate::domain::{Cents, RaceId};
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use crate::status::Trigger;
use crate::upstream::token;

fn default_true() -> bool {
    true
}

/// The longest range `GET /api/admin/analytics` covers.
const MAX_ANALYTICS_DAYS: i64 = 93;

/// How long a forced sync may take before the answer says "still running".
const SYNC_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncRunView {
    pub id: i64,
    pub trigger: String,
    pub source: String,
    pub started_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<String>,
    pub outcome: String,
    #[oai(skip_serializing_if_is_none)]
    pub error_class: Option<String>,
    pub attempts: i64,
    #[oai(skip_serializing_if_is_none)]
    pub http_status: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub received: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub accepted: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub rejected: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub duration_ms: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub race_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
}

impl From<SyncRun> for SyncRunView {
    fn from(r: SyncRun) -> Self {
        SyncRunView {
            id: r.id,
            trigger: r.trigger,
            source: r.source,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome.to_string(),
            error_class: r.error_class.map(|c| c.to_string()),
            attempts: r.attempts,
            http_status: r.http_status,
            received: r.received,
            accepted: r.accepted,
            rejected: r.rejected,
            duration_ms: r.duration_ms,
            race_id: r.race_id,
            error: r.error,
        }
    }
}

paginated!(SyncRunsPage, SyncRunView);

#[derive(Debug, Object)]
pub struct FlushRequest {
    /// Only answers whose cache key starts with this (e.g. `race:`); all when omitted.
    #[oai(skip_serializing_if_is_none, validator(max_length = 64))]
    pub prefix: Omittable<Text>,
}

#[derive(Debug, Object)]
pub struct Flushed {
    pub flushed: u64,
}

#[derive(Debug, Object)]
pub struct TokenReplacement {
    /// The new Goated session token. Stored, never shown again.
    #[oai(validator(min_length = 10, max_length = 4096, pattern = "^[!-~]+$"))]
    pub token: Text,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TokenStatus {
    pub configured: bool,
    /// A short one-way fingerprint, to tell tokens apart.
    #[oai(skip_serializing_if_is_none)]
    pub fingerprint: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<String>,
    pub expires_soon: bool,
    pub auth_failed: bool,
    #[oai(skip_serializing_if_is_none)]
    pub last_auth_failure_at: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub last_auth_failure: Option<String>,
    /// `live` or `demo`.
    pub source: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RacePrizes {
    pub race_id: String,
    /// Dollars.
    pub prize_pool: f64,
    /// Shares by place, summing to 1.
    pub prize_distribution: Vec<f64>,
    /// True when an admin set these; false for the configured defaults.
    pub overridden: bool,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PrizeOverride {
    #[oai(validator(minimum(value = "0"), maximum(value = "10000000")))]
    pub prize_pool: f64,
    #[oai(validator(min_items = 1, max_items = 100))]
    pub prize_distribution: Vec<f64>,
}

pub struct AdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Verification claims waiting for a decision.
    #[oai(path = "/verifications", method = "get")]
    async fn verifications(
        &self,
        req: &Request,
        auth: BearerAuth,
    ) -> ApiResult<Success<Vec<ClaimView>>> {
        let actor = admin(&self.state, &auth).await?;
        let pending = self.state.db.read(verification::pending).await?;
        audit(&self.state, req, &actor, Action::VerificationList).await?;
        Ok(Success::new(
            &pending.into_iter().map(ClaimView::from).collect::<Vec<_>>(),
        ))
    }

    /// Syncs now, still under the outgoing rate limit, and answers with the run.
    #[oai(path = "/sync", method = "post")]
    async fn sync(&self, req: &Request, auth: AdminOrSigned) -> ApiResult<Success<SyncRunView>> {
        let actor = admin_or_signed(&self.state, req, &auth).await?;
        audit(&self.state, req, &actor, Action::SyncForce).await?;
        let report =
            tokio::time::timeout(SYNC_WAIT, self.state.scheduler.sync_now(Trigger::Forced))
                .await
                .map_err(|_| {
                    ApiError::unavailable("The sync is still running; see the sync runs log.")
                })?
                .map_err(|_| ApiError::unavailable("The scheduler is stopping."))?;
        let id = report.run_id;
        let run = self
            .state
            .db
            .read(move |c| sync_runs::get(c, id))
            .await?
            .ok_or_else(|| ApiError::internal("the sync run vanished"))?;
        Ok(Success::new(&SyncRunView::from(run)))
    }

    /// The sync runs log, newest first.
    #[oai(path = "/sync-runs", method = "get")]
    async fn sync_runs(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_page_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<SyncRunsPage>> {
        let actor = admin(&self.state, &auth).await?;
        let (page, limit) = (page.0, limit.0);
        let offset = offset(page, limit);
        let (total, runs) = self
            .state
            .db
            .read(move |c| Ok((sync_runs::count(c)?, sync_runs::recent(c, limit, offset)?)))
            .await?;
        audit(&self.state, req, &actor, Action::SyncRuns).await?;
        let results = runs.into_iter().map(SyncRunView::from).collect();
        Ok(Success::new(&SyncRunsPage {
            results,
            pagination: Pagination::new(page, limit, total as usize),
        }))
    }

    /// Flushes the in-memory answer caches (all, or by key prefix). Data in SQLite stays.
    #[oai(path = "/cache/flush", method = "post")]
    async fn flush(
        &self,
        req: &Request,
        auth: AdminOrSigned,
        body: Json<FlushRequest>,
    ) -> ApiResult<Success<Flushed>> {
        let actor = admin_or_signed(&self.state, req, &auth).await?;
        let prefix = body.0.prefix.text().unwrap_or_default();
        // The effect is outside the database: recorded first, so nothing happens
        // unrecorded.
        AuditRow::new(&self.state, req, &actor, Action::CacheFlush)
            .target(prefix.clone())
            .record(&self.state)
            .await?;
        let flushed = self.state.responses.flush(&prefix);
        self.state.read.invalidate();
        Ok(Success::new(&Flushed {
            flushed: flushed as u64,
        }))
    }

    /// The upstream token's state: expiry, last authentication failure.
    #[oai(path = "/upstream/token", method = "get")]
    async fn token_status(
        &self,
        req: &Request,
        auth: BearerAuth,
    ) -> ApiResult<Success<TokenStatus>> {
        let actor = admin(&self.state, &auth).await?;
        audit(&self.state, req, &actor, Action::UpstreamTokenStatus).await?;
        Ok(Success::new(&self.token_view()))
    }

    /// Replaces the upstream token. It is stored and never shown again; syncing resumes
    /// with it if it had stopped on an authentication failure.
    #[oai(path = "/upstream/token", method = "put")]
    async fn replace_token(
        &self,
        req: &Request,
        auth: AdminOrSigned,
        body: Json<TokenReplacement>,
    ) -> ApiResult<Success<TokenStatus>> {
        let actor = admin_or_signed(&self.state, req, &auth).await?;
        let token = body.0.token.trim().to_string();
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::validation(
                "token",
                "The token must be printable ASCII without spaces.",
            ));
        }
        let (tokens, now) = (self.state.tokens.clone(), self.state.clock.now());
        let fingerprint = token::fingerprint(&crate::config::Secret::new(token.clone()));
        let row = AuditRow::new(&self.state, req, &actor, Action::UpstreamTokenReplace)
            .detail(format!("fingerprint {fingerprint}"));
        tokio::task::spawn_blocking(move || tokens.replace(&token, now, |tx| row.write(tx)))
            .await
            .map_err(ApiError::internal)??;
        tracing::info!(token = %fingerprint, "the upstream token was replaced");
        Ok(Success::new(&self.token_view()))
    }

    /// A race's prize pool and distribution (an override or the defaults).
    #[oai(path = "/races/:race_id/prizes", method = "get")]
    async fn prizes(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(validator(pattern = "^[2-9][0-9]{3}(0[1-9]|1[0-2])$"))] race_id: Path<String>,
    ) -> ApiResult<Success<RacePrizes>> {
        let actor = admin(&self.state, &auth).await?;
        let race = parse_race(&race_id.0)?;
        AuditRow::new(&self.state, req, &actor, Action::RacePrizesGet)
            .target(race.to_string())
            .record(&self.state)
            .await?;
        Ok(Success::new(&self.prizes_view(race).await?))
    }

    /// Overrides a race's prizes. Refused (409) once the race is final.
    #[oai(path = "/races/:race_id/prizes", method = "put")]
    async fn set_prizes(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(validator(pattern = "^[2-9][0-9]{3}(0[1-9]|1[0-2])$"))] race_id: Path<String>,
        body: Json<PrizeOverride>,
    ) -> ApiResult<Success<RacePrizes>> {
        let actor = admin(&self.state, &auth).await?;
        let race = parse_race(&race_id.0)?;
        let PrizeOverride {
            prize_pool,
            prize_distribution,
        } = body.0;
        check_distribution(&prize_distribution)
            .map_err(|m| ApiError::validation("prizeDistribution", m))?;
        let (id, now, by) = (
            race.to_string(),
            timestamp(self.state.clock.now()),
            actor.label.clone(),
        );
        let shares = prize_distribution.clone();
        let row = AuditRow::new(&self.state, req, &actor, Action::RacePrizesSet)
            .target(race.to_string())
            .detail(format!(
                "pool {prize_pool}, distribution {prize_distribution:?}"
            ));
        let written = self
            .state
            .db
            .write(move |tx| {
                if db_races::is_final(tx, &id)? {
                    return Ok(false);
                }
                db_races::set_prize_override(
                    tx,
                    &id,
                    Cents::from_dollars(prize_pool),
                    &shares,
                    &now,
                    Some(&by),
                )?;
                row.write(tx)?;
                Ok(true)
            })
            .await?;
        if !written {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                "This race is final; its prizes cannot change.",
            ));
        }
        self.state.read.invalidate();
        Ok(Success::new(&self.prizes_view(race).await?))
    }

    /// Usage analytics for a time range (default: the last 24 hours; at most 93 days):
    /// hourly rollups per endpoint (requests, errors, p50/p95 latency), error rates by
    /// endpoint, peak hours, requests per signed-in account, the answer cache's hit
    /// ratio and the sync success rate. Counts are written every
    /// `analytics.flush_secs`; this call writes what is pending first, so the answer
    /// is up to the moment.
    #[oai(path = "/analytics", method = "get")]
    async fn analytics(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// Start of the range (RFC 3339); the hour it falls in is included.
        from: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// End of the range (RFC 3339, exclusive); default now.
        to: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// Include the stored hourly rollups per endpoint (`rollups`); they are the
        /// largest part of the answer over long ranges.
        #[oai(default = "default_true")]
        rollups: Query<bool>,
    ) -> ApiResult<Success<AnalyticsReport>> {
        let actor = admin(&self.state, &auth).await?;
        let to = to.0.unwrap_or_else(|| self.state.clock.now());
        let from = from.0.unwrap_or(to - chrono::Duration::hours(24));
        if from >= to {
            return Err(ApiError::validation("from", "`from` must be before `to`."));
        }
        if to - from > chrono::Duration::days(MAX_ANALYTICS_DAYS) {
            return Err(ApiError::validation(
                "from",
                format!("The range may span at most {MAX_ANALYTICS_DAYS} days."),
            ));
        }
        if let Err(err) = self.state.flush_analytics().await {
            tracing::warn!(error = %err, "pending analytics not written before the report");
        }
        let (from_hour, to_secs) = (hour_of(from.timestamp()), to.timestamp());
        let (from_ts, to_ts) = (timestamp(from), timestamp(to));
        let inputs = self
            .state
            .db
            .read(move |c| {
                Ok(report::Inputs {
                    from_hour,
                    to: to_secs,
                    rows: db_analytics::requests_between(c, from_hour, to_secs)?,
                    accounts: db_analytics::accounts_between(c, from_hour, to_secs, 50)?,
                    cache: db_analytics::cache_between(c, from_hour, to_secs)?,
                    sync_outcomes: sync_runs::outcomes_between(c, &from_ts, &to_ts)?,
                })
            })
            .await?;
        audit(&self.state, req, &actor, Action::AnalyticsRead).await?;
        let mut built = report::build(inputs);
        if !rollups.0 {
            built.rollups.clear();
        }
        Ok(Success::new(&built))
    }
}

fn parse_race(text: &str) -> ApiResult<RaceId> {
    RaceId::parse(text)
        .ok_or_else(|| ApiError::validation("raceId", "raceId must be a month as YYYYMM"))
}

impl AdminApi {
    fn token_view(&self) -> TokenStatus {
        let current = self.state.tokens.current();
        let expires_at = current.as_ref().and_then(token::expiry);
        let sync = self.state.sync.read().clone();
        let now = self.state.clock.now();
        TokenStatus {
            configured: current.is_some(),
            fingerprint: current.as_ref().map(token::fingerprint),
            expires_at: expires_at.map(timestamp),
            expires_soon: expires_at.is_some_and(|e| token::expires_soon(e, now)),
            auth_failed: sync.auth_failure.is_some(),
            last_auth_failure_at: sync.auth_failure.as_ref().map(|f| timestamp(f.at)),
            last_auth_failure: sync.auth_failure.map(|f| f.message),
            source: sync.source.as_str().to_string(),
        }
    }

    async fn prizes_view(&self, race: RaceId) -> ApiResult<RacePrizes> {
        let (config, id) = (self.state.config.race.clone(), race.to_string());
        let (pool, shares, overridden) = self
            .state
            .db
            .read(move |c| {
                let over = db_races::prize_override(c, &id)?;
                let rules = crate::races::monthly_rules(c, &config, &id)?;
                Ok((rules.prize_pool, rules.distribution, over.is_some()))
            })
            .await?;
        Ok(RacePrizes {
            race_id: race.to_string(),
            prize_pool: pool.to_dollars(),
            prize_distribution: shares,
            overridden,
        })
    }
}
