//! `/api/affiliate/*`: program totals and the leaderboard by period.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::shapes::{
    Pagination, cache_control, default_page, default_page_limit, money, paginated,
    prepare_with_metadata, sync_metadata, ttl,
};
use crate::http::envelope::Success;
use crate::http::error::ApiResult;
use crate::http::state::AppState;
use crate::read::Period;
use crate::read::rankings::{Ranked, Rankings};

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LeaderboardEntry {
    /// Ties share a position.
    pub position: u32,
    pub uid: String,
    pub name: String,
    /// Dollars in the period, to the cent.
    pub wagered: f64,
}

paginated!(LeaderboardPage, LeaderboardEntry);

impl poem_openapi::types::Example for LeaderboardEntry {
    fn example() -> Self {
        LeaderboardEntry {
            position: 1,
            uid: "k3Jd8QpL2vXr9TzA1bCe".into(),
            name: "LuckyGoat77".into(),
            wagered: 9731.6,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PeriodStats {
    /// Players with a wager in the period.
    pub active_players: u64,
    pub total_wagered: f64,
    /// Null when nobody wagered in the period.
    #[oai(skip_serializing_if_is_none)]
    pub top_player: Option<LeaderboardEntry>,
}

#[derive(Debug, Clone, Object)]
pub struct StatsByPeriod {
    pub today: PeriodStats,
    pub this_week: PeriodStats,
    pub this_month: PeriodStats,
    pub all_time: PeriodStats,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct LastSyncOutcome {
    /// When the last sync (of any outcome) started; null before the first.
    #[oai(skip_serializing_if_is_none)]
    pub started_at: Option<String>,
    /// `success`, `failed`, `suspect`, `skipped` or `interrupted`.
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<String>,
    /// When the last successful sync started.
    #[oai(skip_serializing_if_is_none)]
    pub last_success_at: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AffiliateStats {
    /// Every player the affiliate referred, with or without wagers.
    pub referred_players: u64,
    pub periods: StatsByPeriod,
    pub last_sync: LastSyncOutcome,
}

pub fn entry(r: &Ranked) -> LeaderboardEntry {
    LeaderboardEntry {
        position: r.position,
        uid: r.uid.clone(),
        name: r.name.clone(),
        wagered: money(r.wagered),
    }
}

fn period_stats(rankings: &Rankings, period: Period) -> PeriodStats {
    let totals = &rankings.totals[period.index()];
    PeriodStats {
        active_players: totals.active as u64,
        total_wagered: money(totals.total),
        top_player: rankings.period(period).first().map(entry),
    }
}

pub struct AffiliateApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/affiliate", tag = "ApiTags::Affiliate")]
impl AffiliateApi {
    /// Program totals per period, the top player of each, and the last sync's outcome.
    #[oai(path = "/stats", method = "get")]
    async fn stats(&self, req: &Request) -> ApiResult<Success<AffiliateStats>> {
        let state = self.state.clone();
        let version = state.read.version();
        let last = state.sync.read().last_run.clone();
        let key = format!(
            "affiliate:stats@{version}:{}",
            last.as_ref().map_or(0, |r| r.id)
        );
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let rankings = state.read.rankings().await?;
                let meta = sync_metadata(&state);
                let data = AffiliateStats {
                    referred_players: rankings.referred() as u64,
                    periods: StatsByPeriod {
                        today: period_stats(&rankings, Period::Today),
                        this_week: period_stats(&rankings, Period::ThisWeek),
                        this_month: period_stats(&rankings, Period::ThisMonth),
                        all_time: period_stats(&rankings, Period::AllTime),
                    },
                    last_sync: LastSyncOutcome {
                        started_at: last.as_ref().map(|r| r.started_at.clone()),
                        outcome: last.map(|r| r.outcome.to_string()),
                        last_success_at: meta.last_synced_at.clone(),
                    },
                };
                Ok(prepare_with_metadata(&data, &meta))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control(&version)))
    }

    /// Players with a wager in the period, best first; ties share a position.
    #[oai(path = "/leaderboard", method = "get")]
    async fn leaderboard(
        &self,
        req: &Request,
        /// `today`, `this_week`, `this_month` (default) or `all_time`.
        #[oai(default = "default_period")]
        period: Query<Period>,
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
    ) -> ApiResult<Success<LeaderboardPage>> {
        let state = self.state.clone();
        let version = state.read.version();
        let (period, page, limit) = (period.0, page.0, limit.0);
        let key = format!(
            "affiliate:leaderboard:{}@{version}:{page}:{limit}",
            period.as_str()
        );
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let rankings = state.read.rankings().await?;
                let ranked = rankings.period(period);
                let pagination = Pagination::new(page, limit, ranked.len());
                let results = ranked[pagination.range()].iter().map(entry).collect();
                Ok(prepare_with_metadata(
                    &LeaderboardPage {
                        results,
                        pagination,
                    },
                    &sync_metadata(&state),
                ))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control(&version)))
    }
}

fn default_period() -> Period {
    Period::ThisMonth
}
