//! Running the site: pending verification claims, a sync now, the runs log, the answer
//! cache.

use std::sync::Arc;
use std::time::Duration;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::db::audit::Action;
use crate::db::sync_runs::{self, SyncRun};
use crate::db::verification;
use crate::http::api::ApiTags;
use crate::http::api::session::{
    AdminOrSigned, AuditRow, BearerAuth, admin, admin_or_signed, audit,
};
use crate::http::api::shapes::{
    Omittable, Pagination, Text, default_page, default_page_limit, offset, paginated,
};
use crate::http::api::verification::ClaimView;
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::status::Trigger;

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
                .map_err(|_| {
                    ApiError::unavailable(
                        "The sync did not finish: the server is stopping, or the run could not \
                         be recorded (see /api/health).",
                    )
                })?;
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
}
