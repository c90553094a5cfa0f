//! What is seen of every request: its duration and outcome for `/metrics` and usage
//! analytics (under its route template, never its raw path), and the access log line.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, Middleware, Request, Response};

use super::after::after;
use super::ids::with_request_id;

#[derive(Clone)]
pub struct Observe {
    /// Whether requests are counted for /metrics.
    pub metrics: bool,
    /// Usage analytics, when on.
    pub analytics: Option<Arc<crate::analytics::Recorder>>,
    /// Tells analytics which account made a request.
    pub auth: Arc<crate::auth::Auth>,
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint {
            inner,
            observe: self.clone(),
        }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
    observe: Observe,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let started = Instant::now();
        let method = req.method().clone();
        // A cheap clone (shared bytes): the path is read after the answer is made.
        let uri = req.uri().clone();
        let observe = &self.observe;
        // Only requests that carry a token pay for reading it, and only for analytics.
        let bearer = observe.analytics.as_ref().and_then(|_| {
            req.headers()
                .get(poem::http::header::AUTHORIZATION)
                .cloned()
        });
        // Errors are envelopes by now (`Envelope` is below); one that is not is still
        // counted and logged as the answer it becomes.
        after(self.inner.call(req), move |answer| {
            let resp = answer.unwrap_or_else(super::envelope::error_response);
            observe.seen(&method, &uri, bearer, &resp, started.elapsed());
            Ok(resp)
        })
    }
}

impl Observe {
    fn seen(
        &self,
        method: &poem::http::Method,
        uri: &poem::http::Uri,
        bearer: Option<HeaderValue>,
        resp: &Response,
        elapsed: std::time::Duration,
    ) {
        if self.metrics || self.analytics.is_some() {
            let route = crate::http::routes::table().template(uri.path());
            let status = resp.status().as_u16();
            if self.metrics {
                crate::http::metrics::record(route, status, elapsed.as_secs_f64());
            }
            if let Some(recorder) = &self.analytics {
                let now = self.clock.timestamp();
                let account = bearer.and_then(|value| account_of(&self.auth, &value, now));
                recorder.record(now, route, status, elapsed.as_micros() as u64, account);
            }
        }
        if access_logged(method, resp.status()) {
            with_request_id(|id| log_request(method, uri.path(), resp.status(), elapsed, id));
        }
    }
}

/// The account a valid access token names, for usage analytics.
fn account_of(auth: &crate::auth::Auth, header: &HeaderValue, now: i64) -> Option<i64> {
    let token = header.to_str().ok()?.strip_prefix("Bearer ")?;
    auth.verify_access(token.trim(), now).ok()?.sub.parse().ok()
}

/// Successful reads are logged at debug level so that a traffic spike does not turn
/// into a logging spike; everything else at info, server errors at error.
fn access_level(method: &poem::http::Method, status: StatusCode) -> tracing::Level {
    if status.is_server_error() {
        tracing::Level::ERROR
    } else if status.as_u16() >= 400 || method != poem::http::Method::GET {
        tracing::Level::INFO
    } else {
        tracing::Level::DEBUG
    }
}

/// Whether the access log line would be written at the level configured: most are
/// successful reads at debug level, which a production server does not log, and
/// reading the request id for a line never written cost a few hundred instructions.
fn access_logged(method: &poem::http::Method, status: StatusCode) -> bool {
    match access_level(method, status) {
        tracing::Level::ERROR => tracing::enabled!(target: "goated::access", tracing::Level::ERROR),
        tracing::Level::INFO => tracing::enabled!(target: "goated::access", tracing::Level::INFO),
        _ => tracing::enabled!(target: "goated::access", tracing::Level::DEBUG),
    }
}

fn log_request(
    method: &poem::http::Method,
    path: &str,
    status: StatusCode,
    elapsed: std::time::Duration,
    id: &str,
) {
    let ms = elapsed.as_secs_f64() * 1000.0;
    let level = access_level(method, status);
    let status = status.as_u16();
    match level {
        tracing::Level::ERROR => {
            tracing::error!(target: "goated::access", %method, path, status, ms, request_id = id)
        }
        tracing::Level::INFO => {
            tracing::info!(target: "goated::access", %method, path, status, ms, request_id = id)
        }
        _ => tracing::debug!(target: "goated::access", %method, path, status, ms, request_id = id),
    }
}

#[cfg(test)]
mod tests {
    use poem::http::Method;

    use super::*;

    #[test]
    fn only_lines_the_configured_level_writes_are_made() {
        let at_info = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(at_info, || {
            assert!(
                !access_logged(&Method::GET, StatusCode::OK),
                "a read at debug"
            );
            assert!(access_logged(&Method::GET, StatusCode::NOT_FOUND));
            assert!(access_logged(&Method::POST, StatusCode::OK));
            assert!(access_logged(&Method::GET, StatusCode::BAD_GATEWAY));
        });
        let at_debug = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(at_debug, || {
            assert!(access_logged(&Method::GET, StatusCode::OK));
        });
    }
}
