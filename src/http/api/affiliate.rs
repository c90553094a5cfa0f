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
        leaderboard_page(&self.state, req, period.0, page.0, limit.0).await
    }
}

/// The largest `page` and `limit` the leaderboard takes (its schema says so too).
pub const MAX_PAGE: u32 = 100_000;
pub const MAX_LIMIT: u32 = 100;

/// One page of a period's leaderboard, as `GET /api/affiliate/leaderboard` answers it;
/// also answered before the router (`middleware::HotReads`) for a plain query.
pub async fn leaderboard_page(
    state: &Arc<AppState>,
    req: &Request,
    period: Period,
    page: u32,
    limit: u32,
) -> ApiResult<Success<LeaderboardPage>> {
    match leaderboard_page_hit(state, req, period, page, limit) {
        Some(hit) => Ok(hit),
        None => leaderboard_page_made(state, req, period, page, limit).await,
    }
}

/// The page made through the answer cache and left in the hot slot: what a miss of
/// [`leaderboard_page_hit`] needs (the fast lane asks that first itself).
pub async fn leaderboard_page_made(
    state: &Arc<AppState>,
    req: &Request,
    period: Period,
    page: u32,
    limit: u32,
) -> ApiResult<Success<LeaderboardPage>> {
    let version = state.read.version();
    let responses = &state.responses;
    let hot_key = page_hot_key(&version, period, page, limit);
    let key = format!(
        "affiliate:leaderboard:{}@{version}:{page}:{limit}",
        period.as_str()
    );
    let maker = state.clone();
    // Boxed for the reason the current race's miss is (`races::current_race`).
    let made = Box::pin(
        state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let rankings = maker.read.rankings().await?;
                let ranked = rankings.period(period);
                let pagination = Pagination::new(page, limit, ranked.len());
                let results = ranked[pagination.range()].iter().map(entry).collect();
                Ok(prepare_with_metadata(
                    &LeaderboardPage {
                        results,
                        pagination,
                    },
                    &sync_metadata(&maker),
                ))
            }),
    );
    let prepared = made.await?;
    responses.hot_page.put(hot_key, prepared.clone());
    Ok(Success::prepared(&prepared, req, cache_control(&version)))
}

/// The page from the hot slot, when it holds this one for the data version now: no
/// await, so the fast lane answers a hit without building a future for it.
pub fn leaderboard_page_hit(
    state: &AppState,
    req: &Request,
    period: Period,
    page: u32,
    limit: u32,
) -> Option<Success<LeaderboardPage>> {
    let version = state.read.version();
    let responses = &state.responses;
    let key = page_hot_key(&version, period, page, limit);
    let prepared = responses
        .hot_page
        .get(&key, ttl(&version), &responses.stats)?;
    Some(Success::prepared(&prepared, req, cache_control(&version)))
}

fn page_hot_key(
    version: &crate::read::DataVersion,
    period: Period,
    page: u32,
    limit: u32,
) -> crate::http::cache::HotKey {
    crate::http::cache::hot_key(version, [period as i64, i64::from(page), i64::from(limit)])
}

/// The leaderboard's query when it is plain: known keys, each once, values that the
/// route would take as they are. Anything else (`None`) goes to the router, which
/// answers it, errors included, as ever.
pub fn plain_leaderboard_query(query: Option<&str>) -> Option<(Period, u32, u32)> {
    let (mut period, mut page, mut limit) = (None, None, None);
    let number = |v: &str, max: u32| {
        (!v.is_empty() && v.len() <= 6 && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse::<u32>().ok())
            .flatten()
            .filter(|n| (1..=max).contains(n))
    };
    if let Some(query) = query {
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=')?;
            let slot_was_empty = match k {
                "period" => period
                    .replace(Period::ALL.into_iter().find(|p| p.as_str() == v)?)
                    .is_none(),
                "page" => page.replace(number(v, MAX_PAGE)?).is_none(),
                "limit" => limit.replace(number(v, MAX_LIMIT)?).is_none(),
                _ => return None,
            };
            if !slot_was_empty {
                return None;
            }
        }
    }
    Some((
        period.unwrap_or_else(default_period),
        page.unwrap_or_else(default_page),
        limit.unwrap_or_else(default_page_limit),
    ))
}

fn default_period() -> Period {
    Period::ThisMonth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_leaderboard_query_takes_the_fast_lane() {
        assert_eq!(
            plain_leaderboard_query(None),
            Some((Period::ThisMonth, 1, 30))
        );
        assert_eq!(
            plain_leaderboard_query(Some("period=all_time&page=3&limit=100")),
            Some((Period::AllTime, 3, 100))
        );
        assert_eq!(
            plain_leaderboard_query(Some("limit=7")),
            Some((Period::ThisMonth, 1, 7))
        );
        for routed in [
            "",
            "period=yearly",
            "page=0",
            "page=100001",
            "limit=101",
            "limit=+5",
            "limit=%35",
            "page=1&page=2",
            "period",
            "other=1",
            "page=1&",
        ] {
            assert_eq!(plain_leaderboard_query(Some(routed)), None, "{routed:?}");
        }
        // Huge queries go to the router at their first odd pair, whatever follows.
        for huge in [
            "&".repeat(65_536),
            "limit=1&".repeat(8_192),
            format!("page={}", "9".repeat(65_536)),
        ] {
            assert_eq!(plain_leaderboard_query(Some(&huge)), None);
        }
    }
}
