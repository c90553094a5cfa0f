//! What is checked before a request reaches a handler: the body's size and pace, the
//! per-client rate limit on `/api/*`, and for `/api/admin/*` the address allow-list
//! and, when present, the request signature. Each refusal is an envelope; nothing is
//! read that would be refused.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use futures_util::future::Either;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::after::{Boxed, answered, pass, refuse};

use crate::http::client::{ClientLimiter, client_ip};
use crate::http::error::{ApiError, ErrorCode};

/// Set on a request to `/api/admin/*` whose HMAC signature checked out.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest;

pub const SIGNATURE_HEADER: &str = "x-goated-signature";

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

/// How long a request body may stop arriving (SPEC §17: 10 s without a byte ends the
/// request with 408, and the connection is closed).
pub const BODY_SILENCE: Duration = Duration::from_secs(10);
/// How long a whole body may take, however it trickles: 64 KiB in a minute is a
/// kilobyte a second, slower than any phone link. Without it a byte every nine seconds
/// would hold a connection for a week.
pub const BODY_TOTAL: Duration = Duration::from_secs(60);

fn body_timed_out() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        ErrorCode::RequestTimeout,
        format!(
            "The request body stopped arriving (nothing for {} seconds).",
            BODY_SILENCE.as_secs()
        ),
    )
}

/// What to do with a request's body before a handler sees it.
enum BodyPlan {
    /// None, or one known to be empty: nothing to wait for.
    Nothing,
    /// Refused from its headers alone.
    Refused(ApiError),
    /// Read here, within [`MAX_BODY`] and on time.
    Read,
}

/// Judges a body over [`MAX_BODY`] without reading it, by its `Content-Length` before
/// one byte is read; any other body (of a length within the limit, or chunked) is
/// read here by [`read_on_time`].
fn plan(req: &mut Request) -> BodyPlan {
    use poem::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    if let Some(length) = req.headers().get(CONTENT_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        return match length {
            None => BodyPlan::Refused(ApiError::validation(
                "Content-Length",
                "Content-Length is not a number.",
            )),
            Some(length) if length > MAX_BODY as u64 => BodyPlan::Refused(too_large()),
            Some(0) => BodyPlan::Nothing,
            Some(_) => BodyPlan::Read,
        };
    }
    // Without a length, HTTP/1.1 has a body only when it is chunked; an HTTP/2 stream
    // has one unless it ended with its headers, which hyper knows.
    if req.version() < poem::http::Version::HTTP_2 && !req.headers().contains_key(TRANSFER_ENCODING)
    {
        return BodyPlan::Nothing;
    }
    let body = req.take_body();
    let plan = if body.is_empty() {
        BodyPlan::Nothing
    } else {
        BodyPlan::Read
    };
    req.set_body(body);
    plan
}

/// Reads the body, at most `MAX_BODY` bytes of it, each part within [`BODY_SILENCE`] of
/// the one before and the whole within [`BODY_TOTAL`]; the bytes then stand in for it.
async fn read_on_time(req: &mut Request) -> Result<(), ApiError> {
    let mut parts = req.take_body().into_bytes_stream();
    let mut body = Vec::new();
    let deadline = tokio::time::Instant::now() + BODY_TOTAL;
    loop {
        let wait = (tokio::time::Instant::now() + BODY_SILENCE).min(deadline);
        let part = match tokio::time::timeout_at(wait, parts.next()).await {
            Err(_) => return Err(body_timed_out()),
            Ok(None) => break,
            Ok(Some(part)) => part,
        };
        let part =
            part.map_err(|_| ApiError::validation("body", "The request body could not be read."))?;
        if body.len() + part.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&part);
    }
    req.set_body(body);
    Ok(())
}

/// A refusal of a body that was not read to its end: the connection is closed after
/// the answer, since what follows on it is the rest of that body, not a request.
fn refuse_and_close(refused: ApiError) -> Response {
    let mut resp = refused.into_response();
    resp.headers_mut().insert(
        poem::http::header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    resp
}

/// Refuses every body over [`MAX_BODY`], on every path.
pub struct BodyLimit;

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    fn call(&self, mut req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        match plan(&mut req) {
            BodyPlan::Nothing => Either::Left(pass(answered(self.inner.call(req)))),
            BodyPlan::Refused(refused) => Either::Left(refuse(refused)),
            BodyPlan::Read => Either::Right(Box::pin(async move {
                match read_on_time(&mut req).await {
                    Ok(()) => self.inner.call(req).await.map(IntoResponse::into_response),
                    Err(refused) => Ok(refuse_and_close(refused)),
                }
            }) as Boxed<'_>),
        }
    }
}

fn is_admin_path(path: &str) -> bool {
    path.starts_with("/api/admin/") || path == "/api/admin"
}

/// The general per-client limit on `/api/*` (`server.rate_limit_per_minute`; 0 is off).
pub struct RateLimit {
    limiter: Arc<ClientLimiter>,
    trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl RateLimit {
    pub fn new(limiter: ClientLimiter, trusted_proxies: &[ipnet::IpNet]) -> RateLimit {
        RateLimit {
            limiter: Arc::new(limiter),
            trusted_proxies: trusted_proxies.into(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint {
            inner,
            limiter: self.limiter.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    limiter: Arc<ClientLimiter>,
    trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        if self.limiter.enabled() && req.uri().path().starts_with("/api/") {
            let ip = client_ip(&req, &self.trusted_proxies);
            if let Err(wait) = self.limiter.check(ip) {
                return refuse(ApiError::rate_limited(wait.as_secs() + 1));
            }
        }
        pass(answered(self.inner.call(req)))
    }
}

/// `/api/admin/*`: from `admin.allowed_ips` only (checked before routing, so that an
/// address not allowed learns nothing of the admin API), and a signed request checked
/// on its raw body, its nonce kept in the database for the whole window.
#[derive(Clone)]
pub struct AdminGate {
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    pub admin_ips: Arc<[ipnet::IpNet]>,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Checks signed admin requests.
    pub auth: Arc<crate::auth::Auth>,
    /// Where signed requests' nonces are kept for their whole window.
    pub db: crate::db::Db,
    /// `admin.remote_with_totp`: an admin's token from a two-factor sign-in passes from
    /// any address.
    pub remote_with_totp: bool,
}

/// Whether `req` carries the access token of an admin who signed in with two-factor
/// (checked here by its signature and claims; the handler checks the role against the
/// database as for every admin request).
pub fn is_mfa_admin(req: &Request, auth: &crate::auth::Auth, now: i64) -> bool {
    let Some(token) = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    auth.verify_access(token.trim(), now)
        .is_ok_and(|claims| claims.mfa && claims.role == "admin")
}

/// The refusal of an admin request from an address that may not make it.
pub fn admin_address_refused(remote_with_totp: bool) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::AdminAddress,
        if remote_with_totp {
            "The admin API cannot be reached from this address. Turn on two-factor \
             sign-in (admin page, from an allowed address) and sign in with a code to manage \
             the site from anywhere, or connect from an address in admin.allowed_ips."
        } else {
            "The admin API cannot be reached from this address: connect from an address in \
             admin.allowed_ips (admin.remote_with_totp is off)."
        },
    )
}

impl<E: Endpoint> Middleware<E> for AdminGate {
    type Output = AdminGateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AdminGateEndpoint {
            inner,
            gate: self.clone(),
        }
    }
}

pub struct AdminGateEndpoint<E> {
    inner: E,
    gate: AdminGate,
}

impl<E: Endpoint> Endpoint for AdminGateEndpoint<E> {
    type Output = Response;

    fn call(&self, mut req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        if !is_admin_path(req.uri().path()) {
            return Either::Left(answered(self.inner.call(req)));
        }
        Either::Right(Box::pin(async move {
            match self.gate.admit(&mut req).await {
                Ok(()) => self.inner.call(req).await.map(IntoResponse::into_response),
                Err(refused) => Ok(refused.into_response()),
            }
        }) as Boxed<'_>)
    }
}

impl AdminGate {
    async fn admit(&self, req: &mut Request) -> Result<(), ApiError> {
        let ip = client_ip(req, &self.trusted_proxies);
        if !self.admin_ips.iter().any(|net| net.contains(&ip)) {
            // A signed request (automation) is never let in this way: it is an address's
            // privilege, not a person's.
            let now = self.clock.now().timestamp();
            let remote = self.remote_with_totp
                && !req.headers().contains_key(SIGNATURE_HEADER)
                && is_mfa_admin(req, &self.auth, now);
            if !remote {
                let path = req.uri().path();
                tracing::warn!(%ip, path, "admin request from an address not allowed");
                return Err(admin_address_refused(self.remote_with_totp));
            }
        }
        if req.headers().contains_key(SIGNATURE_HEADER) {
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
