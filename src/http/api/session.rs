//! Who is calling: bearer access tokens, admin checks (role from the database at every
//! request, never from the token), signed admin requests, and the audit log.

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use crate::db::accounts::{self, Account};
use crate::db::audit::{self, Action};
use crate::http::client::client_ip;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::middleware::SignedRequest;
use crate::http::state::AppState;

/// An access token from `POST /api/auth/login`, as `Authorization: Bearer …`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

/// For automation: an HMAC signature of the request (see docs/api.md), with the
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
        .await?
        // Sessions ended after this token was issued (a password reset by the CLI).
        .filter(|account| claims.sep == account.session_epoch)
        .ok_or_else(unauthorized)
}

/// Who performed an admin action, for the audit log.
pub struct Actor {
    pub label: String,
    pub account: Option<Account>,
}

impl Actor {
    /// A signed-in account acting on itself.
    pub fn of(account: Account) -> Actor {
        Actor {
            label: format!("account:{}", account.id),
            account: Some(account),
        }
    }
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

/// One audit-log row, made before its action and written inside the action's own
/// transaction, so that an action and its record commit together or not at all.
pub struct AuditRow {
    at: String,
    actor: String,
    client_ip: String,
    action: Action,
    target: Option<String>,
    detail: Option<String>,
}

impl AuditRow {
    pub fn new(state: &AppState, req: &Request, actor: &Actor, action: Action) -> Self {
        AuditRow {
            at: crate::db::timestamp(state.clock.now()),
            actor: actor.label.clone(),
            client_ip: client_ip(req, &state.config.server.trusted_proxies).to_string(),
            action,
            target: None,
            detail: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Writes the row with the caller's transaction.
    pub fn write(&self, tx: &rusqlite::Connection) -> crate::db::DbResult<()> {
        audit::record(
            tx,
            &self.at,
            &audit::Entry {
                actor: &self.actor,
                client_ip: Some(&self.client_ip),
                action: self.action,
                target: self.target.as_deref(),
                detail: self.detail.as_deref(),
            },
        )
    }

    /// Writes the row in a transaction of its own: for admin actions whose only write
    /// is their record (reads of admin data) or whose effect is outside the database (a
    /// forced sync, a cache flush), where the row is written before the effect. An
    /// admin action that cannot be audited fails.
    pub async fn record(self, state: &AppState) -> ApiResult<()> {
        Ok(state.db.write(move |tx| self.write(tx)).await?)
    }
}

/// [`AuditRow::record`] for an action with no target and no detail.
pub async fn audit(
    state: &AppState,
    req: &Request,
    actor: &Actor,
    action: Action,
) -> ApiResult<()> {
    AuditRow::new(state, req, actor, action).record(state).await
}

/// Admin-only actions outside `/api/admin` (deciding a verification, editing another
/// player's profile) obey `admin.allowed_ips` like the admin API does.
pub fn require_admin_address(state: &AppState, req: &Request) -> ApiResult<()> {
    let ip = client_ip(req, &state.config.server.trusted_proxies);
    let admin = &state.config.admin;
    let now = state.clock.now().timestamp();
    if admin.allowed_ips.iter().any(|net| net.contains(&ip))
        || (admin.remote_with_totp && crate::http::middleware::is_mfa_admin(req, &state.auth, now))
    {
        Ok(())
    } else {
        tracing::warn!(%ip, path = req.uri().path(), "admin action from an address not allowed");
        Err(crate::http::middleware::admin_address_refused(
            admin.remote_with_totp,
        ))
    }
}
