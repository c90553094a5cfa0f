//! `/api/auth/*`: accounts, sign-in, token refresh with rotation, sign-out.

use std::sync::Arc;

use poem::Request;
use poem::http::{HeaderValue, StatusCode};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::ApiTags;
use super::session::{BearerAuth, signed_in};
use super::shapes::{Omittable, Text};
use crate::accounts::registration::{RegisterError, register};
use crate::accounts::sessions::{self, SessionError};
use crate::accounts::two_factor::{self, TwoFactorError};
use crate::auth::REFRESH_TTL_DAYS;
use crate::auth::password::{HashError, check_strength};
use crate::auth::throttle::LoginKey;
use crate::db::accounts::{self, Account};
use crate::db::audit::Action;
use crate::db::{settle, timestamp};
use crate::domain::ids::{Email, Username};
use crate::http::api::session::{Actor, AuditRow, require_admin_address};
use crate::http::client::{client_ip, is_https, limit_key};
use crate::http::envelope::{Created, Success};
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use chrono::{DateTime, Utc};

const COOKIE: &str = "goated_refresh";

/// Where the refresh token goes: in the answer (API clients), or only in an HttpOnly
/// cookie that page scripts cannot read (the web site).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RefreshIn {
    Body,
    Cookie,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// 3–32 of letters, digits, `_`, `.`, `-`; unique ignoring case.
    pub username: Username,
    /// 8–256 characters, not a common password.
    #[oai(validator(min_length = 8, max_length = 256))]
    pub password: Text,
    /// Trimmed and lowercased; unique. Checked by `Email::parse` in the handler, so that
    /// a refusal names the field (a body type's own refusal cannot).
    #[oai(
        skip_serializing_if_is_none,
        validator(min_length = 3, max_length = 254)
    )]
    pub email: Omittable<Text>,
    #[oai(skip_serializing_if_is_none)]
    pub refresh_in: Omittable<RefreshIn>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The username or the email.
    #[oai(validator(min_length = 1, max_length = 254))]
    pub username: Text,
    #[oai(validator(min_length = 1, max_length = 256))]
    pub password: Text,
    /// For an account with two-factor on: a code from the authenticator app, or one of
    /// its recovery codes. Each is accepted once.
    #[oai(skip_serializing_if_is_none, validator(max_length = 32))]
    pub totp: Omittable<Text>,
    #[oai(skip_serializing_if_is_none)]
    pub refresh_in: Omittable<RefreshIn>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TotpCode {
    /// A code from the authenticator app (six digits), or a recovery code.
    #[oai(validator(min_length = 1, max_length = 32))]
    pub code: Text,
}

/// A secret waiting for its first code: shown once, for the authenticator app.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TotpEnrollment {
    /// Base32, for typing into the app by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// The same address as a QR code, an SVG image.
    pub qr_svg: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TotpEnabled {
    /// Ten codes, each good for one sign-in without the app. Shown this once only.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TotpState {
    pub enabled: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RefreshRequest {
    /// Omit to use the refresh cookie.
    #[oai(skip_serializing_if_is_none, validator(max_length = 128))]
    pub refresh_token: Omittable<Text>,
}

/// An account as its owner sees it.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AccountView {
    pub id: i64,
    pub username: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// `user` or `admin`.
    pub role: String,
    pub verified: bool,
    /// The Goated player this account is verified as.
    #[oai(skip_serializing_if_is_none)]
    pub goated_uid: Option<String>,
    pub bio: String,
    #[oai(skip_serializing_if_is_none)]
    pub profile_color: Option<String>,
    /// Whether the player's name shows in full while `race.name_masking` hides names.
    pub show_name: bool,
    pub created_at: String,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id,
            username: a.username.clone(),
            email: a.email.clone(),
            role: a.role.as_str().to_string(),
            verified: a.goated_uid.is_some(),
            goated_uid: a.goated_uid.clone(),
            bio: a.bio.clone(),
            profile_color: a.profile_color.clone(),
            show_name: a.show_name,
            created_at: a.created_at.clone(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionView {
    pub access_token: String,
    /// Null when the refresh token was set as a cookie.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// Seconds the access token is valid.
    pub expires_in: u32,
    pub token_type: String,
    pub account: AccountView,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct LoggedOut {
    pub logged_out: bool,
}

pub struct AuthApi {
    pub state: Arc<AppState>,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidCredentials,
        "Wrong username or password.",
    )
}

fn invalid_refresh() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "The refresh token is unknown, expired or revoked. Sign in again.",
    )
}

/// A name or email that is taken is a conflict; nothing was stored.
impl From<RegisterError> for ApiError {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Db(err) => ApiError::from(err),
            taken => ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, taken.to_string()),
        }
    }
}

/// A reused token gets the same answer as an unknown one: the client signs in again,
/// and a thief learns nothing from the difference.
impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Invalid | SessionError::Reused => invalid_refresh(),
            SessionError::Db(err) => ApiError::from(err),
        }
    }
}

fn busy(err: HashError) -> ApiError {
    match err {
        HashError::Busy => {
            let mut e = ApiError::unavailable("Too many sign-ins at once. Try again in a moment.");
            e.retry_after = Some(2);
            e
        }
        other => ApiError::internal(other),
    }
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Creates an account and signs it in. 409 when the username or email is taken;
    /// 400 for a weak or common password.
    #[oai(path = "/register", method = "post")]
    async fn register(
        &self,
        req: &Request,
        body: Json<RegisterRequest>,
    ) -> ApiResult<Created<SessionView>> {
        let body = body.0;
        check_strength(&body.password, &body.username)
            .map_err(|m| ApiError::validation("password", m))?;
        // Before the password is hashed: a refusal costs no hash.
        let email = match body.email.0 {
            Some(text) => {
                Some(Email::parse(&text).map_err(|e| ApiError::validation("email", e.0))?)
            }
            None => None,
        };
        let hash = self
            .state
            .auth
            .passwords
            .hash(body.password.0)
            .await
            .map_err(busy)?;
        let now = timestamp(self.state.clock.now());
        let username = body.username;
        let created = self
            .state
            .db
            .write(move |tx| settle(register(tx, &username, email.as_ref(), &hash, &now)))
            .await??;
        tracing::info!(account = created.id, "account registered");
        let session = self
            .start_session(req, &created, body.refresh_in.0, sessions::Factor::None)
            .await?;
        Ok(Created(session))
    }

    /// Signs in with username (or email) and password. Failed attempts are throttled per
    /// account and per address (429 with Retry-After).
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> ApiResult<Success<SessionView>> {
        let body = body.0;
        let ip = limit_key(client_ip(req, &self.state.config.server.trusted_proxies));
        let throttle = &self.state.auth.throttle;
        // Throttling counts against the account the name resolves to, so padding or
        // re-casing a name reaches the same counter.
        let login = body.username.trim().to_string();
        let account = self
            .state
            .db
            .read(move |c| accounts::by_login(c, &login))
            .await?;
        let key = account.as_ref().map_or_else(
            || LoginKey::unknown(&body.username),
            |a| LoginKey::Account(a.id),
        );
        let now = self.state.clock.now();
        if let Err(wait) = throttle.check(&key, ip, now) {
            return Err(ApiError::rate_limited(wait.as_secs() + 1));
        }
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let ok = self
            .state
            .auth
            .passwords
            .verify(body.password.0, hash)
            .await
            .map_err(busy)?;
        let Some(account) = account.filter(|_| ok) else {
            throttle.failed(&key, ip, now);
            tracing::info!(%ip, "failed sign-in");
            return Err(invalid_credentials());
        };
        // The second factor, once the password is right: a wrong code counts as a failed
        // sign-in (six digits must not be guessed at the general rate limit's pace).
        let (id, code) = (account.id, body.totp.0.map(|t| t.0));
        let checked = self
            .state
            .db
            .write(move |tx| settle(two_factor::check(tx, id, code.as_deref(), now)))
            .await?;
        let mfa = match checked {
            Ok(mfa) => mfa,
            Err(TwoFactorError::WrongCode) => {
                throttle.failed(&key, ip, now);
                tracing::info!(%ip, account = id, "failed sign-in: wrong two-factor code");
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::InvalidCredentials,
                    "The two-factor code is wrong, expired or already used.",
                ));
            }
            Err(err) => return Err(err.into()),
        };
        throttle.succeeded(&key, ip, now);
        let factor = if mfa {
            sessions::Factor::Totp
        } else {
            sessions::Factor::None
        };
        self.start_session(req, &account, body.refresh_in.0, factor)
            .await
    }

    /// A new access token and a new refresh token for a refresh token (from the body or
    /// the cookie). The old one is used up; presenting it again revokes its whole family.
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(
        &self,
        req: &Request,
        body: Json<RefreshRequest>,
    ) -> ApiResult<Success<SessionView>> {
        let (token, from_cookie) = match body.0.refresh_token.text() {
            Some(t) => (t, false),
            None => (cookie(req).ok_or_else(invalid_refresh)?, true),
        };
        let now = self.state.clock.now();
        // A refusal commits too: a reused token's family stays revoked.
        let rotated = self
            .state
            .db
            .write(move |tx| settle(sessions::rotate(tx, &token, now)))
            .await??;
        let (account, fresh) = (rotated.account, rotated.token);
        let session = self.session_view(&account, &fresh, from_cookie, rotated.mfa);
        Ok(self.with_cookie(
            req,
            Success::new(&session),
            from_cookie.then_some(fresh.as_str()),
        ))
    }

    /// Signs out: revokes the refresh token's whole family (from the body or the cookie).
    #[oai(path = "/logout", method = "post")]
    async fn logout(
        &self,
        req: &Request,
        body: Json<RefreshRequest>,
    ) -> ApiResult<Success<LoggedOut>> {
        if let Some(token) = body.0.refresh_token.text().or_else(|| cookie(req)) {
            let now = self.state.clock.now();
            self.state
                .db
                .write(move |tx| sessions::end(tx, &token, now))
                .await?;
        }
        let out = Success::new(&LoggedOut { logged_out: true });
        Ok(out
            .with_header(poem::http::header::SET_COOKIE, clear_cookie())
            .with_header(
                poem::http::header::SET_COOKIE,
                HeaderValue::from_static("goated_session=; Path=/; SameSite=Strict; Max-Age=0"),
            ))
    }

    /// The signed-in account.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: BearerAuth) -> ApiResult<Success<AccountView>> {
        let account = signed_in(&self.state, &auth).await?;
        Ok(Success::new(&AccountView::from(&account)))
    }

    /// Whether the signed-in account signs in with two-factor.
    #[oai(path = "/totp", method = "get")]
    async fn totp_state(&self, auth: BearerAuth) -> ApiResult<Success<TotpState>> {
        let id = signed_in(&self.state, &auth).await?.id;
        let (enabled, left) = self
            .state
            .db
            .read(move |c| {
                Ok((
                    two_factor::is_on(c, id)?,
                    crate::db::totp::recovery_left(c, id)?,
                ))
            })
            .await?;
        Ok(Success::new(&TotpState {
            enabled,
            recovery_codes_left: if enabled { left } else { 0 },
        }))
    }

    /// Starts two-factor setup: a new secret, as text and as a QR code for the app. It
    /// is not on until `POST /api/auth/totp/confirm` sends a first code from it. 409
    /// while two-factor is on.
    #[oai(path = "/totp", method = "post")]
    async fn totp_enroll(
        &self,
        req: &Request,
        auth: BearerAuth,
    ) -> ApiResult<Success<TotpEnrollment>> {
        let account = signed_in(&self.state, &auth).await?;
        self.admin_may_enroll(req, &account)?;
        let issuer = issuer(&self.state);
        let (id, label, now) = (account.id, account.username.clone(), self.state.clock.now());
        let made = self
            .state
            .db
            .write(move |tx| settle(two_factor::enroll(tx, id, &label, &issuer, now)))
            .await??;
        Ok(Success::new(&TotpEnrollment {
            secret: made.secret,
            otpauth_url: made.otpauth_url,
            qr_svg: made.qr_svg,
        }))
    }

    /// Turns two-factor on with a first code from the app; answers the ten recovery
    /// codes, shown this once. Audited.
    #[oai(path = "/totp/confirm", method = "post")]
    async fn totp_confirm(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<TotpCode>,
    ) -> ApiResult<Success<TotpEnabled>> {
        let account = signed_in(&self.state, &auth).await?;
        self.admin_may_enroll(req, &account)?;
        let id = account.id;
        let codes = self
            .with_code(
                req,
                account,
                body.0.code.0,
                Action::TotpEnroll,
                two_factor::confirm,
            )
            .await?;
        tracing::info!(account = id, "two-factor turned on");
        Ok(Success::new(&TotpEnabled {
            recovery_codes: codes,
        }))
    }

    /// Turns two-factor off, with a current code or a recovery code. Audited.
    #[oai(path = "/totp", method = "delete")]
    async fn totp_disable(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<TotpCode>,
    ) -> ApiResult<Success<TotpState>> {
        let account = signed_in(&self.state, &auth).await?;
        let id = account.id;
        self.with_code(
            req,
            account,
            body.0.code.0,
            Action::TotpDisable,
            two_factor::disable,
        )
        .await?;
        tracing::info!(account = id, "two-factor turned off");
        Ok(Success::new(&TotpState {
            enabled: false,
            recovery_codes_left: 0,
        }))
    }
}

/// The name an authenticator app lists the account under: the site's host.
fn issuer(state: &AppState) -> String {
    state
        .config
        .site
        .public_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .map(|rest| rest.split(['/', ':']).next().unwrap_or(rest).to_string())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "goated".to_string())
}

impl From<TwoFactorError> for ApiError {
    fn from(err: TwoFactorError) -> Self {
        let message = err.to_string();
        match err {
            TwoFactorError::AlreadyOn => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
            }
            TwoFactorError::NotEnrolled | TwoFactorError::NotOn => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
            }
            TwoFactorError::Required => {
                ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::TotpRequired, message)
            }
            TwoFactorError::WrongCode => ApiError::validation("code", message),
            TwoFactorError::TooManyTries(secs) => ApiError::rate_limited(secs.max(1) as u64),
            TwoFactorError::Db(err) => ApiError::from(err),
        }
    }
}

impl AuthApi {
    /// An admin account turns two-factor on only where it may already act as an admin:
    /// from `admin.allowed_ips`, or in a session that already counts as two-factor (the
    /// one first-run setup began). Otherwise a stolen password would enroll the thief's
    /// own app and open the admin API from anywhere (and lock the owner out).
    fn admin_may_enroll(&self, req: &Request, account: &Account) -> ApiResult<()> {
        if !account.is_admin() {
            return Ok(());
        }
        require_admin_address(&self.state, req).map_err(|_| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::AdminAddress,
                "An admin turns on two-factor from an address in admin.allowed_ips (an SSH \
                 tunnel to the server counts), or in the session first-run setup opened: a \
                 password alone must not open the admin API from anywhere.",
            )
        })
    }

    /// Codes typed by a signed-in account (to turn two-factor on or off) are throttled
    /// as sign-ins are: per account and per address.
    fn guard_codes(&self, req: &Request, account: i64) -> ApiResult<()> {
        let ip = limit_key(client_ip(req, &self.state.config.server.trusted_proxies));
        let now = self.state.clock.now();
        self.state
            .auth
            .throttle
            .check(&LoginKey::Account(account), ip, now)
            .map_err(|wait| ApiError::rate_limited(wait.as_secs() + 1))
    }

    /// Runs a two-factor change that takes a code (`change`), throttled, with its audit
    /// row in the same transaction when it is done.
    async fn with_code<T: Send + 'static>(
        &self,
        req: &Request,
        account: Account,
        code: String,
        action: Action,
        change: fn(&rusqlite::Connection, i64, &str, DateTime<Utc>) -> Result<T, TwoFactorError>,
    ) -> ApiResult<T> {
        let id = account.id;
        self.guard_codes(req, id)?;
        let row = AuditRow::new(&self.state, req, &Actor::of(account), action);
        let now = self.state.clock.now();
        let done = self
            .state
            .db
            .write(move |tx| {
                let done = settle(change(tx, id, &code, now))?;
                if done.is_ok() {
                    row.write(tx)?;
                }
                Ok(done)
            })
            .await?;
        self.count_code(req, id, done)
    }

    /// Counts a wrong code against the throttle; passes the rest on.
    fn count_code<T>(
        &self,
        req: &Request,
        account: i64,
        done: Result<T, TwoFactorError>,
    ) -> ApiResult<T> {
        if let Err(TwoFactorError::WrongCode) = &done {
            let ip = limit_key(client_ip(req, &self.state.config.server.trusted_proxies));
            let now = self.state.clock.now();
            self.state
                .auth
                .throttle
                .failed(&LoginKey::Account(account), ip, now);
        }
        Ok(done?)
    }

    pub(crate) async fn start_session(
        &self,
        req: &Request,
        account: &Account,
        refresh_in: Option<RefreshIn>,
        factor: sessions::Factor,
    ) -> ApiResult<Success<SessionView>> {
        let (now, id) = (self.state.clock.now(), account.id);
        let token = self
            .state
            .db
            .write(move |tx| sessions::start(tx, id, now, factor))
            .await?
            .token;
        let in_cookie = refresh_in == Some(RefreshIn::Cookie);
        let mfa = factor != sessions::Factor::None;
        let session = self.session_view(account, &token, in_cookie, mfa);
        Ok(self.with_cookie(
            req,
            Success::new(&session),
            in_cookie.then_some(token.as_str()),
        ))
    }

    fn session_view(
        &self,
        account: &Account,
        refresh: &str,
        in_cookie: bool,
        mfa: bool,
    ) -> SessionView {
        let now = self.state.clock.now().timestamp();
        SessionView {
            access_token: self.state.auth.access_token(account, now, mfa),
            refresh_token: (!in_cookie).then(|| refresh.to_string()),
            expires_in: crate::auth::ACCESS_TTL_SECS as u32,
            token_type: "Bearer".into(),
            account: AccountView::from(account),
        }
    }

    fn with_cookie<T>(&self, req: &Request, out: Success<T>, token: Option<&str>) -> Success<T> {
        let Some(token) = token else { return out };
        let secure = if is_https(req, &self.state.config.server.trusted_proxies) {
            "; Secure"
        } else {
            ""
        };
        let value = format!(
            "{COOKIE}={token}; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            REFRESH_TTL_DAYS * 86_400
        );
        // A second cookie the page may read, holding nothing but "a session exists",
        // so an anonymous visit does not ask to refresh and log a 401 in the console.
        let hint = format!(
            "{HINT}=1; Path=/; SameSite=Strict; Max-Age={}{secure}",
            REFRESH_TTL_DAYS * 86_400
        );
        match (HeaderValue::from_str(&value), HeaderValue::from_str(&hint)) {
            (Ok(v), Ok(h)) => out
                .with_header(poem::http::header::SET_COOKIE, v)
                .with_header(poem::http::header::SET_COOKIE, h),
            _ => out,
        }
    }
}

/// The page-readable "signed in" hint (no secret in it).
const HINT: &str = "goated_session";

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "goated_refresh=; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

fn cookie(req: &Request) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}
