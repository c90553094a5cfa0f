//! Usage analytics: hourly rollups per endpoint, error rates, peak hours, accounts, the
//! answer cache's hit ratio and the sync success rate.

use std::sync::Arc;

use poem::Request;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use crate::analytics::hour_of;
use crate::analytics::report::{self, AnalyticsReport};
use crate::db::analytics as db_analytics;
use crate::db::audit::Action;
use crate::db::{sync_runs, timestamp};
use crate::http::api::ApiTags;
use crate::http::api::session::{BearerAuth, admin, audit};
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult};
use crate::http::state::AppState;

fn default_true() -> bool {
    true
}

/// The longest range `GET /api/admin/analytics` covers.
const MAX_ANALYTICS_DAYS: i64 = 93;

pub struct AnalyticsAdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AnalyticsAdminApi {
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
