//! Who is calling: bearer access tokens, admin checks (role from the database at every
//! request, never from the token), signed admin requests, and the audit log.

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use crate::app::AppState;
use crate::db::accounts::{self, Account};
use crate::db::audit;
use crate::http::client::client_ip;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::middleware::SignedRequest;

/// An access token from `POST /api/auth/login`, as `Authorization: Bearer …`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

/// For automation: an HMAC signature of the request (see the README), with the
/// `X-Goated-Timestamp` and `X-Goated-Nonce` headers.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "X-Goated-Signature", key_in = "header")]
pub struct SignatureAuth(pub ApiKey);

/// Sensitive admin writes accept either an admin's bearer token or a signed request.
#[derive(SecurityScheme)]
pub enum AdminOrSigned {
    Bearer(BearerAuth),
    Signed(SignatureAuth),
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "Your session is missing, expired or invalid. Sign in again.",
    )
}

pub fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
}

/// The signed-in account, loaded fresh from the database.
pub async fn signed_in(state: &AppState, auth: &BearerAuth) -> ApiResult<Account> {
    let now = state.clock.now().timestamp();
    let claims = state
        .auth
        .verify_access(&auth.0.token, now)
        .map_err(|_| unauthorized())?;
    let id: i64 = claims.sub.parse().map_err(|_| unauthorized())?;
    state
        .db
        .read(move |c| accounts::by_id(c, id))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(unauthorized)
}

/// Who performed an admin action, for the audit log.
pub struct Actor {
    pub label: String,
    pub account: Option<Account>,
}

/// An admin, by the role the database holds now.
pub async fn admin(state: &AppState, auth: &BearerAuth) -> ApiResult<Actor> {
    let account = signed_in(state, auth).await?;
    if !account.is_admin() {
        return Err(forbidden("Only admins can do this."));
    }
    Ok(Actor {
        label: format!("account:{}", account.id),
        account: Some(account),
    })
}

/// An admin, or a request whose signature the gate verified.
pub async fn admin_or_signed(
    state: &AppState,
    req: &Request,
    auth: &AdminOrSigned,
) -> ApiResult<Actor> {
    match auth {
        AdminOrSigned::Bearer(bearer) => admin(state, bearer).await,
        // The gate checked the signature over the raw body and marked the request.
        AdminOrSigned::Signed(sig)
            if !sig.0.key.is_empty() && req.extensions().get::<SignedRequest>().is_some() =>
        {
            Ok(Actor {
                label: "signed-request".into(),
                account: None,
            })
        }
        AdminOrSigned::Signed(_) => Err(unauthorized()),
    }
}

/// Writes one audit-log row; an admin action that cannot be audited fails.
pub async fn audit(
    state: &AppState,
    req: &Request,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
) -> ApiResult<()> {
    let ip = client_ip(req, &state.config.server.trusted_proxies).to_string();
    let (label, action) = (actor.label.clone(), action.to_string());
    let now = crate::db::timestamp(state.clock.now());
    state
        .db
        .write(move |tx| {
            audit::record(
                tx,
                &now,
                &audit::Entry {
                    actor: &label,
                    client_ip: Some(&ip),
                    action: &action,
                    target: target.as_deref(),
                    detail: detail.as_deref(),
                },
            )
        })
        .await
        .map_err(ApiError::internal)
}
