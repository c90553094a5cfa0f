//! What every request goes through: a request id, the error envelope for errors raised
//! anywhere (poem's own 404/405 and parse errors included), security headers, and an
//! access log line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::client::{ClientLimiter, client_ip};
use super::error::{ApiError, ErrorCode};

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being handled, for error envelopes and log lines.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.to_string())
        .unwrap_or_else(|_| "req_none".to_string())
}

const MAX_CLIENT_ID_LEN: usize = 64;

/// A client's own id is kept when it is short and plain (no header injection, no log
/// pollution); otherwise we make one.
fn client_request_id(req: &Request) -> Option<Arc<str>> {
    let id = req.headers().get("x-request-id")?.to_str().ok()?;
    let sane = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| Arc::from(id))
}

fn new_request_id() -> Arc<str> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(rand::random);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("req_{prefix:08x}{n:08x}"))
}

const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI is one page with inline script and styles, all served from here.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The stream overlay and the widget are made to be framed: by OBS's browser source, by
/// a streamer's site, by the admin page's preview. They are the only pages that may be.
const FRAMABLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors *";

/// Which security headers a response gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PageKind {
    Strict,
    Docs,
    Framable,
}

impl PageKind {
    fn of(path: &str) -> PageKind {
        if path == "/docs" || path.starts_with("/docs/") {
            PageKind::Docs
        } else if path == "/overlay.html" || path == "/widget.html" {
            PageKind::Framable
        } else {
            PageKind::Strict
        }
    }
}

/// Header names made at compile time: a name given as text is parsed on every insert,
/// and these go on every response.
const CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");
const X_CONTENT_TYPE_OPTIONS: HeaderName = HeaderName::from_static("x-content-type-options");
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");
const X_FRAME_OPTIONS: HeaderName = HeaderName::from_static("x-frame-options");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn security_headers(kind: PageKind, resp: &mut Response) {
    let headers = resp.headers_mut();
    let csp = match kind {
        PageKind::Strict => STRICT_CSP,
        PageKind::Docs => DOCS_CSP,
        PageKind::Framable => FRAMABLE_CSP,
    };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if kind != PageKind::Framable {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// Errors that escaped the handlers (routing, parameter and body parsing, extractors)
/// become envelopes here; errors the handlers built are envelopes already.
pub fn error_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let message = err.to_string();
    let api = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            ErrorCode::MethodNotAllowed,
            "This address does not accept this method.",
        ),
        StatusCode::BAD_REQUEST => bad_request(&err, message),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            ErrorCode::PayloadTooLarge,
            "The request body is too large.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            ErrorCode::UnsupportedMediaType,
            "The request body must be JSON (Content-Type: application/json).",
        ),
        StatusCode::UNAUTHORIZED => {
            ApiError::new(status, ErrorCode::Unauthorized, "Sign-in is required.")
        }
        StatusCode::FORBIDDEN => ApiError::new(status, ErrorCode::Forbidden, "Not allowed."),
        s if s.is_server_error() => ApiError::internal(message),
        s => ApiError::new(s, ErrorCode::ValidationError, message),
    };
    api.into_response()
}

fn bad_request(err: &poem::Error, message: String) -> ApiError {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
    if let Some(p) = err.downcast_ref::<ParseParamError>() {
        return ApiError::validation(p.name, format!("Invalid `{}`: {}", p.name, p.reason));
    }
    if let Some(p) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::validation("body", format!("Invalid request body: {}", p.reason));
    }
    ApiError::validation("request", message)
}

/// Set on a request to `/api/admin/*` whose HMAC signature checked out.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest;

/// What is checked before a request reaches the API: the per-client rate limit, and
/// for `/api/admin/*` the address allow-list and, when present, the request signature.
pub struct Gate {
    pub limiter: ClientLimiter,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub admin_ips: Vec<ipnet::IpNet>,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Whether requests are counted for /metrics.
    pub metrics: bool,
    /// Usage analytics, when on.
    pub analytics: Option<Arc<crate::analytics::Recorder>>,
    /// Checks signed admin requests, and tells analytics which account made a request.
    pub auth: Arc<crate::auth::Auth>,
    /// Where signed requests' nonces are kept for their whole window.
    pub db: crate::db::Db,
}

/// The largest request body accepted anywhere (SPEC §10).
pub const MAX_BODY: usize = 64 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!(
            "The request body is too large (at most {} KiB).",
            MAX_BODY / 1024
        ),
    )
}

/// Refuses a body over [`MAX_BODY`] without reading it: by its `Content-Length` before
/// one byte is read, and a body of unknown length (chunked) by reading at most
/// `MAX_BODY + 1` bytes of it, which then stand in for the body.
async fn limit_body(req: &mut Request) -> Result<(), ApiError> {
    use poem::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    if let Some(length) = req.headers().get(CONTENT_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::validation("Content-Length", "Content-Length is not a number.")
            })?;
        return if length > MAX_BODY as u64 {
            Err(too_large())
        } else {
            Ok(())
        };
    }
    if req.headers().contains_key(TRANSFER_ENCODING) {
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY)
            .await
            .map_err(|err| match err {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                _ => ApiError::validation("body", "The request body could not be read."),
            })?;
        req.set_body(body);
    }
    Ok(())
}

impl Gate {
    async fn admit(&self, req: &mut Request) -> Result<(), ApiError> {
        limit_body(req).await?;
        let path = req.uri().path();
        if !path.starts_with("/api/") {
            return Ok(());
        }
        let admin = path.starts_with("/api/admin/") || path == "/api/admin";
        if self.limiter.enabled() || admin {
            let ip = client_ip(req, &self.trusted_proxies);
            if self.limiter.enabled()
                && let Err(wait) = self.limiter.check(ip)
            {
                return Err(ApiError::rate_limited(wait.as_secs() + 1));
            }
            if admin && !self.admin_ips.iter().any(|net| net.contains(&ip)) {
                tracing::warn!(%ip, path, "admin request from an address not allowed");
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::Forbidden,
                    "The admin API cannot be reached from this address.",
                ));
            }
        }
        if admin && req.headers().contains_key(SIGNATURE_HEADER) {
            self.check_signature(req).await?;
        }
        Ok(())
    }

    async fn check_signature(&self, req: &mut Request) -> Result<(), ApiError> {
        let unauthorized =
            |msg: String| ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, msg);
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let path = req
            .uri()
            .path_and_query()
            .map_or(req.uri().path(), |p| p.as_str())
            .to_string();
        let now = self.clock.now().timestamp();
        let verdict = self.auth.signer.verify(
            req.method().as_str(),
            &path,
            header("x-goated-timestamp").as_deref(),
            header("x-goated-nonce").as_deref(),
            &header(SIGNATURE_HEADER).unwrap_or_default(),
            &body,
            now,
        );
        let verdict = match verdict {
            Ok(verified) => {
                // Kept in the database for the whole window: a replay is refused even
                // after a restart.
                let fresh = self
                    .db
                    .write(move |tx| {
                        crate::db::nonces::claim(tx, &verified.nonce, verified.forget_at, now)
                    })
                    .await?;
                if fresh {
                    Ok(())
                } else {
                    Err(crate::auth::signing::SignatureError::Replayed)
                }
            }
            Err(err) => Err(err),
        };
        match verdict {
            Ok(()) => {
                req.extensions_mut().insert(SignedRequest);
                req.set_body(body);
                Ok(())
            }
            Err(err) => {
                tracing::warn!(path, error = %err, "signed admin request refused");
                Err(unauthorized(format!("Signed request refused: {err}.")))
            }
        }
    }
}

pub const SIGNATURE_HEADER: &str = "x-goated-signature";

/// The middleware itself, for `EndpointExt::around`.
pub async fn around<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    gate: Arc<Gate>,
) -> poem::Result<Response> {
    let id = client_request_id(&req).unwrap_or_else(new_request_id);
    let started = Instant::now();
    let method = req.method().clone();
    // A cheap clone (shared bytes): the path is only read for the log line.
    let uri = req.uri().clone();
    let page = PageKind::of(uri.path());
    // Only requests that carry a token pay for reading it, and only for analytics.
    let bearer = gate.analytics.as_ref().and_then(|_| {
        req.headers()
            .get(poem::http::header::AUTHORIZATION)
            .cloned()
    });
    let result = REQUEST_ID
        .scope(id.clone(), async {
            match gate.admit(&mut req).await {
                Ok(()) => ep.call(req).await.map(IntoResponse::into_response),
                Err(refused) => Ok(refused.into_response()),
            }
        })
        .await;
    let mut resp = match result {
        Ok(resp) => resp,
        Err(err) => REQUEST_ID.sync_scope(id.clone(), || error_response(err)),
    };
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED && !resp.headers().contains_key("allow") {
        let routes = super::routes::table();
        let allowed = routes.methods(routes.template(uri.path()));
        resp.headers_mut()
            .insert("allow", HeaderValue::from_static(allowed));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID, value);
    }
    security_headers(page, &mut resp);
    let elapsed = started.elapsed();
    if gate.metrics || gate.analytics.is_some() {
        let route = super::routes::table().template(uri.path());
        let status = resp.status().as_u16();
        if gate.metrics {
            super::metrics::record(route, status, elapsed.as_secs_f64());
        }
        if let Some(recorder) = &gate.analytics {
            let now = gate.clock.now().timestamp();
            let account = bearer.and_then(|value| account_of(&gate.auth, &value, now));
            recorder.record(now, route, status, elapsed.as_micros() as u64, account);
        }
    }
    log_request(&method, uri.path(), resp.status(), started, &id);
    Ok(resp)
}

/// The account a valid access token names, for usage analytics.
fn account_of(auth: &crate::auth::Auth, header: &HeaderValue, now: i64) -> Option<i64> {
    let token = header.to_str().ok()?.strip_prefix("Bearer ")?;
    auth.verify_access(token.trim(), now).ok()?.sub.parse().ok()
}

/// Successful reads are logged at debug level so that a traffic spike does not turn
/// into a logging spike; everything else at info, server errors at error.
fn log_request(
    method: &poem::http::Method,
    path: &str,
    status: StatusCode,
    started: Instant,
    id: &str,
) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = status.as_u16();
    if status >= 500 {
        tracing::error!(target: "goated::access", %method, path, status, ms, request_id = id);
    } else if status >= 400 || method != poem::http::Method::GET {
        tracing::info!(target: "goated::access", %method, path, status, ms, request_id = id);
    } else {
        tracing::debug!(target: "goated::access", %method, path, status, ms, request_id = id);
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};

    use super::*;

    async fn body_of(resp: Response) -> serde_json::Value {
        serde_json::from_slice(&resp.into_body().into_vec().await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_malformed_json_body_becomes_a_400_validation_error_naming_the_body() {
        let err = poem::Error::from(ParseRequestPayloadError {
            reason: "expected value at line 1".into(),
        });
        let resp = error_response(err);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = body_of(resp).await;
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(body["error"]["details"]["field"], "body");
    }

    #[tokio::test]
    async fn a_bad_parameter_names_the_parameter() {
        let err = poem::Error::from(ParseParamError {
            name: "page",
            reason: "not a number".into(),
        });
        let body = body_of(error_response(err)).await;
        assert_eq!(body["error"]["details"]["field"], "page");
        assert!(body["error"]["message"].as_str().unwrap().contains("page"));
    }

    #[tokio::test]
    async fn a_server_error_never_leaks_its_cause() {
        let err =
            poem::Error::from_string("disk /var/secret full", StatusCode::INTERNAL_SERVER_ERROR);
        let resp = error_response(err);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(resp).await;
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
        assert!(!body.to_string().contains("secret"));
    }
}
