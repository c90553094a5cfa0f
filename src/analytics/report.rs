//! What `GET /api/admin/analytics` answers, computed from the stored rollups.

use std::collections::BTreeMap;

use poem_openapi::Object;

use super::histogram;
use super::{CacheCounts, Rollup};
use crate::db::analytics::RouteHour;

/// Requests, errors and latency of some slice of traffic.
#[derive(Debug, Clone, Object, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct Traffic {
    pub requests: u64,
    /// Answers with a 4xx status.
    pub client_errors: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// (client + server errors) / requests; 0 without requests.
    pub error_rate: f64,
    /// server errors / requests; 0 without requests.
    pub server_error_rate: f64,
    /// Median latency in milliseconds (within ±21 %: latencies are kept in buckets).
    #[oai(skip_serializing_if_is_none)]
    pub p50_ms: Option<f64>,
    /// 95th-percentile latency in milliseconds.
    #[oai(skip_serializing_if_is_none)]
    pub p95_ms: Option<f64>,
}

impl From<&Rollup> for Traffic {
    fn from(r: &Rollup) -> Self {
        let rate = |n: u64| {
            if r.requests == 0 {
                0.0
            } else {
                round4(n as f64 / r.requests as f64)
            }
        };
        Traffic {
            requests: r.requests,
            client_errors: r.client_errors,
            server_errors: r.server_errors,
            error_rate: rate(r.client_errors + r.server_errors),
            server_error_rate: rate(r.server_errors),
            p50_ms: histogram::quantile(&r.latency, 0.5),
            p95_ms: histogram::quantile(&r.latency, 0.95),
        }
    }
}

/// All endpoints together in one hour.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct HourTraffic {
    /// The start of the UTC hour.
    pub hour: String,
    #[oai(flatten)]
    pub traffic: Traffic,
}

/// One endpoint over the whole range.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EndpointTraffic {
    /// The route template, e.g. `/api/users/{user_id}`; `static` for pages and assets.
    pub route: String,
    #[oai(flatten)]
    pub traffic: Traffic,
}

/// One endpoint in one hour: the stored rollup.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RollupView {
    pub hour: String,
    pub route: String,
    #[oai(flatten)]
    pub traffic: Traffic,
}

/// Requests by hour of the day (UTC), over every day of the range.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct HourOfDay {
    /// 0–23, UTC.
    pub hour_of_day: u32,
    pub requests: u64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct BusyHour {
    pub hour: String,
    pub requests: u64,
}

/// Requests made with a valid access token.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AccountUsage {
    pub account_id: i64,
    /// Absent when the account no longer exists.
    #[oai(skip_serializing_if_is_none)]
    pub username: Option<String>,
    pub requests: u64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CacheUsage {
    pub hits: u64,
    pub misses: u64,
    /// Served past their time-to-live while a refresh ran (counted as hits in the ratio).
    pub stale_hits: u64,
    /// (hits + stale hits) / lookups; absent without lookups.
    #[oai(skip_serializing_if_is_none)]
    pub hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct OutcomeCount {
    pub outcome: String,
    pub runs: u64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncUsage {
    /// Runs started in the range, whatever their outcome.
    pub runs: u64,
    pub succeeded: u64,
    /// Succeeded / runs that were not skipped (runs skipped while the circuit breaker
    /// was open or the token was refused, and runs still going, are left out); absent
    /// when there were none.
    #[oai(skip_serializing_if_is_none)]
    pub success_rate: Option<f64>,
    pub by_outcome: Vec<OutcomeCount>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AnalyticsReport {
    /// The first hour included (the start of the hour `from` falls in).
    pub from: String,
    /// The end of the range (exclusive).
    pub to: String,
    /// Every endpoint over the whole range.
    pub totals: Traffic,
    /// Every endpoint together, hour by hour (hours without requests included).
    pub hourly: Vec<HourTraffic>,
    /// Each endpoint over the whole range, most requested first.
    pub endpoints: Vec<EndpointTraffic>,
    /// The stored hourly rollups per endpoint, oldest first (empty with `rollups=false`).
    pub rollups: Vec<RollupView>,
    /// Requests by hour of the day (UTC): 24 entries, 0 to 23.
    pub peak_hours: Vec<HourOfDay>,
    /// The five busiest hours of the range.
    pub busiest_hours: Vec<BusyHour>,
    /// Signed-in accounts by requests, most first (at most 50).
    pub accounts: Vec<AccountUsage>,
    pub cache: CacheUsage,
    pub sync: SyncUsage,
}

/// Outcomes that never called the upstream.
const NOT_ATTEMPTED: &[&str] = &["skipped", "running"];

pub struct Inputs {
    pub from_hour: i64,
    pub to: i64,
    pub rows: Vec<RouteHour>,
    pub accounts: Vec<(i64, Option<String>, u64)>,
    pub cache: Vec<(i64, CacheCounts)>,
    pub sync_outcomes: Vec<(String, u64)>,
}

pub fn build(input: Inputs) -> AnalyticsReport {
    let iso = |unix_secs: i64| {
        chrono::DateTime::from_timestamp(unix_secs, 0)
            .map(crate::db::timestamp)
            .unwrap_or_default()
    };
    let mut total = Rollup::default();
    let mut by_hour: BTreeMap<i64, Rollup> = BTreeMap::new();
    let mut by_route: BTreeMap<&str, Rollup> = BTreeMap::new();
    let mut of_day = [0u64; 24];
    for row in &input.rows {
        total.add(&row.rollup);
        by_hour.entry(row.hour).or_default().add(&row.rollup);
        by_route
            .entry(row.route.as_str())
            .or_default()
            .add(&row.rollup);
        of_day[(row.hour.rem_euclid(86_400) / 3600) as usize] += row.rollup.requests;
    }
    let hourly = (input.from_hour..input.to)
        .step_by(3600)
        .map(|hour| HourTraffic {
            hour: iso(hour),
            traffic: by_hour
                .get(&hour)
                .map(Traffic::from)
                .unwrap_or_else(|| Traffic::from(&Rollup::default())),
        })
        .collect();
    let mut endpoints: Vec<EndpointTraffic> = by_route
        .iter()
        .map(|(route, r)| EndpointTraffic {
            route: route.to_string(),
            traffic: Traffic::from(r),
        })
        .collect();
    endpoints.sort_by_key(|e| std::cmp::Reverse(e.traffic.requests));
    let mut busiest: Vec<(i64, u64)> = by_hour.iter().map(|(h, r)| (*h, r.requests)).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    busiest.truncate(5);
    let mut cache = CacheCounts::default();
    for (_, c) in &input.cache {
        cache.hits += c.hits;
        cache.misses += c.misses;
        cache.stale_hits += c.stale_hits;
    }
    let lookups = cache.hits + cache.misses + cache.stale_hits;
    let runs: u64 = input.sync_outcomes.iter().map(|(_, n)| n).sum();
    let count_of = |wanted: &str| {
        input
            .sync_outcomes
            .iter()
            .filter(|(o, _)| o == wanted)
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let succeeded = count_of("success");
    let attempted = runs - NOT_ATTEMPTED.iter().map(|o| count_of(o)).sum::<u64>();
    AnalyticsReport {
        from: iso(input.from_hour),
        to: iso(input.to),
        totals: Traffic::from(&total),
        hourly,
        endpoints,
        rollups: input
            .rows
            .iter()
            .map(|row| RollupView {
                hour: iso(row.hour),
                route: row.route.clone(),
                traffic: Traffic::from(&row.rollup),
            })
            .collect(),
        peak_hours: (0..24)
            .map(|h| HourOfDay {
                hour_of_day: h as u32,
                requests: of_day[h],
            })
            .collect(),
        busiest_hours: busiest
            .into_iter()
            .map(|(hour, requests)| BusyHour {
                hour: iso(hour),
                requests,
            })
            .collect(),
        accounts: input
            .accounts
            .into_iter()
            .map(|(account_id, username, requests)| AccountUsage {
                account_id,
                username,
                requests,
            })
            .collect(),
        cache: CacheUsage {
            hits: cache.hits,
            misses: cache.misses,
            stale_hits: cache.stale_hits,
            hit_ratio: (lookups > 0)
                .then(|| round4((cache.hits + cache.stale_hits) as f64 / lookups as f64)),
        },
        sync: SyncUsage {
            runs,
            succeeded,
            success_rate: (attempted > 0).then(|| round4(succeeded as f64 / attempted as f64)),
            by_outcome: input
                .sync_outcomes
                .into_iter()
                .map(|(outcome, runs)| OutcomeCount { outcome, runs })
                .collect(),
        },
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::histogram::Histogram;

    fn row(hour: i64, route: &str, requests: u64, server_errors: u64, ms: u64) -> RouteHour {
        let mut latency: Histogram = [0; histogram::BUCKETS];
        latency[histogram::bucket_of(ms * 1000)] = requests;
        RouteHour {
            hour,
            route: route.into(),
            rollup: Rollup {
                requests,
                client_errors: 0,
                server_errors,
                latency,
            },
        }
    }

    #[test]
    fn a_report_adds_up_hours_endpoints_and_hours_of_the_day() {
        let day = 20_000 * 86_400;
        let report = build(Inputs {
            from_hour: day,
            to: day + 3 * 3600,
            rows: vec![
                row(day, "/api/health", 10, 0, 1),
                row(day, "/api/wager-races/current", 30, 3, 2),
                row(day + 2 * 3600, "/api/health", 5, 0, 100),
            ],
            accounts: vec![(1, Some("ann".into()), 4)],
            cache: vec![(
                day,
                CacheCounts {
                    hits: 8,
                    misses: 1,
                    stale_hits: 1,
                },
            )],
            sync_outcomes: vec![
                ("success".into(), 3),
                ("failed".into(), 1),
                ("skipped".into(), 6),
            ],
        });
        assert_eq!(report.totals.requests, 45);
        assert_eq!(report.totals.server_errors, 3);
        assert_eq!(report.hourly.len(), 3);
        assert_eq!(report.hourly[1].traffic.requests, 0);
        assert_eq!(report.hourly[0].traffic.requests, 40);
        assert_eq!(report.endpoints[0].route, "/api/wager-races/current");
        assert_eq!(report.endpoints[0].traffic.server_error_rate, 0.1);
        assert!(report.endpoints[1].traffic.p95_ms.unwrap() > 50.0);
        assert_eq!(report.peak_hours[0].requests, 40);
        assert_eq!(report.peak_hours[2].requests, 5);
        assert_eq!(report.busiest_hours[0].requests, 40);
        assert_eq!(report.cache.hit_ratio, Some(0.9));
        assert_eq!(report.sync.runs, 10);
        assert_eq!(report.sync.success_rate, Some(0.75));
        assert_eq!(report.rollups.len(), 3);
    }
}
