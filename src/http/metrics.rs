//! `GET /metrics`: Prometheus text. Request counters and latency histograms are recorded
//! by the middleware under route templates (never raw paths, so label values stay
//! bounded); the rest is read from the running state at scrape time.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Request, Response, handler};

use super::client::client_ip;
use super::error::{ApiError, ErrorCode};
use crate::http::state::AppState;

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed once (the `metrics` facade is process-global).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            builder
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
                .ok()
        })
        .as_ref()
}

/// Status codes as static label values, made once.
pub fn status_label(code: u16) -> &'static str {
    static TABLE: OnceLock<Vec<&'static str>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..600u16)
            .map(|c| &*Box::leak(c.to_string().into_boxed_str()))
            .collect()
    });
    table.get(usize::from(code)).copied().unwrap_or("other")
}

/// Per (route template, status): the request counter and the latency histogram.
/// Found by the template's address and length (templates are `&'static str` from the
/// one route table), so no request hashes the template's text. foldhash rather than
/// SipHash: the keys are the server's own (route addresses and status codes), so no
/// client can choose them, and SipHash was half the lookup.
type RequestHandles = foldhash::HashMap<(usize, usize, u16), (Counter, Histogram)>;

thread_local! {
    /// Metric handles by (route, status), per worker thread: looking a handle up in the
    /// registry hashes its labels, which cost ~10 % of the hottest endpoints' throughput;
    /// a cached handle is an atomic add.
    static HANDLES: std::cell::RefCell<RequestHandles> =
        std::cell::RefCell::new(foldhash::HashMapExt::new());
}

/// Records one request under its route template; called by the middleware.
pub fn record(route: &'static str, status: u16, seconds: f64) {
    HANDLES.with_borrow_mut(|handles| {
        let key = (route.as_ptr() as usize, route.len(), status);
        let (count, latency) = handles.entry(key).or_insert_with(|| {
            (
                metrics::counter!("goated_http_requests_total", "route" => route, "status" => status_label(status)),
                metrics::histogram!("goated_http_request_duration_seconds", "route" => route),
            )
        });
        count.increment(1);
        latency.record(seconds);
    });
}

#[handler]
pub async fn scrape(req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let ip = client_ip(req, &state.config.server.trusted_proxies);
    if !state
        .config
        .metrics
        .allowed_ips
        .iter()
        .any(|net| net.contains(&ip))
    {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "Metrics cannot be read from this address.",
        )
        .into_response();
    }
    let Some(handle) = handle() else {
        return ApiError::unavailable("Metrics are not recorded in this process.").into_response();
    };
    let db = state.db.clone();
    let size = tokio::task::spawn_blocking(move || db.size_bytes())
        .await
        .ok()
        .and_then(Result::ok);
    gauges(&state, size);
    handle.run_upkeep();
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// What is read from the running state rather than counted as it happens.
fn gauges(state: &AppState, db_size: Option<i64>) {
    let stats = &state.responses.stats;
    let cache = state.responses.name();
    metrics::counter!("goated_cache_hits_total", "cache" => cache)
        .absolute(stats.hits.load(Ordering::Relaxed));
    metrics::counter!("goated_cache_misses_total", "cache" => cache)
        .absolute(stats.misses.load(Ordering::Relaxed));
    metrics::counter!("goated_cache_stale_hits_total", "cache" => cache)
        .absolute(stats.stale_hits.load(Ordering::Relaxed));
    let sync = state.sync.read().clone();
    let now = state.clock.now();
    if let Some(at) = sync.last_synced_at() {
        metrics::gauge!("goated_last_successful_sync_timestamp_seconds").set(at.timestamp() as f64);
    }
    if let Some(exp) = sync.token_expires_at {
        metrics::gauge!("goated_upstream_token_expiry_timestamp_seconds")
            .set(exp.timestamp() as f64);
    }
    metrics::gauge!("goated_data_stale").set(if sync.is_stale(now) { 1.0 } else { 0.0 });
    metrics::gauge!("goated_upstream_auth_failed").set(if sync.auth_failure.is_some() {
        1.0
    } else {
        0.0
    });
    metrics::gauge!("goated_websocket_clients").set(state.feed.clients() as f64);
    if let Some(size) = db_size {
        metrics::gauge!("goated_database_size_bytes").set(size as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_labels_and_anything_else_is_other() {
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(700), "other");
    }
}
