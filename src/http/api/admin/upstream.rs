//! The upstream token: its state, and replacing it (stored, never shown again).

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::db::audit::Action;
use crate::db::timestamp;
use crate::http::api::ApiTags;
use crate::http::api::session::{
    AdminOrSigned, AuditRow, BearerAuth, admin, admin_or_signed, audit,
};
use crate::http::api::shapes::Text;
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use crate::upstream::client::{self, CheckError};
use crate::upstream::token;

#[derive(Debug, Object)]
pub struct TokenReplacement {
    /// The new Goated session token. Stored, never shown again.
    #[oai(validator(min_length = 10, max_length = 4096, pattern = "^[!-~]+$"))]
    pub token: Text,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct TokenStatus {
    pub configured: bool,
    /// A short one-way fingerprint, to tell tokens apart.
    #[oai(skip_serializing_if_is_none)]
    pub fingerprint: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<String>,
    pub expires_soon: bool,
    pub auth_failed: bool,
    #[oai(skip_serializing_if_is_none)]
    pub last_auth_failure_at: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub last_auth_failure: Option<String>,
    /// `live` or `demo`.
    pub source: String,
    /// After a replacement: how many players the upstream's board held when the new
    /// token was checked.
    #[oai(skip_serializing_if_is_none)]
    pub players: Option<u64>,
}

pub struct UpstreamAdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl UpstreamAdminApi {
    /// The upstream token's state: expiry, last authentication failure.
    #[oai(path = "/upstream/token", method = "get")]
    async fn token_status(
        &self,
        req: &Request,
        auth: BearerAuth,
    ) -> ApiResult<Success<TokenStatus>> {
        let actor = admin(&self.state, &auth).await?;
        audit(&self.state, req, &actor, Action::UpstreamTokenStatus).await?;
        Ok(Success::new(&self.token_view()))
    }

    /// Replaces the upstream token, once the upstream has read the affiliate's board with
    /// it (one request, under the limit of upstream requests): 422 `TOKEN_REFUSED` when
    /// it says no, 503 `UPSTREAM_UNAVAILABLE` when it cannot be asked; either way the
    /// token before stays in use. A kept token is never shown again; syncing resumes
    /// with it if it had stopped on an authentication failure.
    #[oai(path = "/upstream/token", method = "put")]
    async fn replace_token(
        &self,
        req: &Request,
        auth: AdminOrSigned,
        body: Json<TokenReplacement>,
    ) -> ApiResult<Success<TokenStatus>> {
        let actor = admin_or_signed(&self.state, req, &auth).await?;
        let token = body.0.token.trim().to_string();
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::validation(
                "token",
                "The token must be printable ASCII without spaces.",
            ));
        }
        let players = self.check(&token).await?;
        let (tokens, now) = (self.state.tokens.clone(), self.state.clock.now());
        let fingerprint = token::fingerprint(&crate::config::Secret::new(token.clone()));
        let row = AuditRow::new(&self.state, req, &actor, Action::UpstreamTokenReplace)
            .detail(format!("fingerprint {fingerprint}"));
        tokio::task::spawn_blocking(move || tokens.replace(&token, now, |tx| row.write(tx)))
            .await
            .map_err(ApiError::internal)??;
        tracing::info!(token = %fingerprint, players, "the upstream token was replaced");
        Ok(Success::new(&TokenStatus {
            players: Some(players as u64),
            ..self.token_view()
        }))
    }
}

impl UpstreamAdminApi {
    /// Asks the upstream whether `token` reads the affiliate's board; how many players
    /// it holds.
    async fn check(&self, token: &str) -> ApiResult<usize> {
        let config = self.state.config.upstream.clone();
        let Some(code) = config.referral_code.clone() else {
            return Err(ApiError::validation(
                "token",
                "Set the referral code (upstream.referral_code) first: a token is checked \
                 against the affiliate's leaderboard, and the site stays in demo mode \
                 without a code.",
            ));
        };
        let (token, limiter, clock) = (
            token.to_string(),
            self.state.upstream_limiter.clone(),
            self.state.clock.clone(),
        );
        let checked = tokio::task::spawn_blocking(move || {
            client::check(&config, &code, &token, &limiter, &*clock)
        })
        .await
        .map_err(ApiError::internal)?;
        checked.map_err(|err| match err {
            CheckError::Refused(why) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::TokenRefused,
                format!("{why} The token in use is unchanged."),
            ),
            CheckError::Unavailable(why) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::UpstreamUnavailable,
                format!("{why} The token in use is unchanged; try again shortly."),
            ),
        })
    }

    fn token_view(&self) -> TokenStatus {
        let current = self.state.tokens.current();
        let expires_at = current.as_ref().and_then(token::expiry);
        let sync = self.state.sync.read().clone();
        let now = self.state.clock.now();
        TokenStatus {
            configured: current.is_some(),
            fingerprint: current.as_ref().map(token::fingerprint),
            expires_at: expires_at.map(timestamp),
            expires_soon: expires_at
                .is_some_and(|e| token::expires_soon(e, now, sync.token_warning)),
            auth_failed: sync.auth_failure.is_some(),
            last_auth_failure_at: sync.auth_failure.as_ref().map(|f| timestamp(f.at)),
            last_auth_failure: sync.auth_failure.map(|f| f.message),
            source: sync.source.as_str().to_string(),
            players: None,
        }
    }
}
