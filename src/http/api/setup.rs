//! `POST /api/setup`: the first admin, made from the browser with the one-time code the
//! server logged at start (SPEC §14). Open from any address: the code is the proof.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::auth::{AuthApi, RefreshIn, SessionView};
use super::shapes::{Omittable, Text};
use crate::accounts::sessions::Factor;
use crate::accounts::setup::{SetupError, first_admin};
use crate::auth::password::check_strength;
use crate::auth::totp::constant_time_eq;
use crate::db::{settle, timestamp};
use crate::domain::ids::Username;
use crate::http::envelope::Created;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SetupRequest {
    /// The code from the server's log line `first run: create the admin at …`.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub code: Text,
    pub username: Username,
    /// 8–256 characters, not a common password.
    #[oai(validator(min_length = 8, max_length = 256))]
    pub password: Text,
    #[oai(skip_serializing_if_is_none)]
    pub refresh_in: Omittable<RefreshIn>,
}

pub struct SetupApi {
    pub state: Arc<AppState>,
}

fn done() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::SetupDone,
        "Setup is done: an admin exists. Sign in instead.",
    )
}

#[OpenApi(tag = "ApiTags::Auth")]
impl SetupApi {
    /// Makes the first admin and signs it in (the same answer as a sign-in). 403 for a
    /// wrong code; 409 `SETUP_DONE` once an admin exists.
    #[oai(path = "/setup", method = "post")]
    async fn setup(
        &self,
        req: &Request,
        body: Json<SetupRequest>,
    ) -> ApiResult<Created<SessionView>> {
        let body = body.0;
        let expected = self.state.setup_code.lock().clone();
        let Some(expected) = expected else {
            return Err(done());
        };
        if !constant_time_eq(expected.as_bytes(), body.code.0.trim().as_bytes()) {
            tracing::warn!("first-run setup tried with a wrong code");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "The setup code is wrong. Copy it from the server's log line that begins \
                 `first run:` (it changes at every start).",
            ));
        }
        check_strength(&body.password, &body.username)
            .map_err(|m| ApiError::validation("password", m))?;
        let hash = self
            .state
            .auth
            .passwords
            .hash(body.password.0)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let (username, now) = (body.username, timestamp(self.state.clock.now()));
        let made = self
            .state
            .db
            .write(move |tx| settle(first_admin(tx, &username, &hash, &now)))
            .await?
            .map_err(|err| match err {
                SetupError::Done => done(),
                SetupError::UsernameTaken => {
                    ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, err.to_string())
                }
                SetupError::Db(err) => ApiError::from(err),
            })?;
        *self.state.setup_code.lock() = None;
        tracing::info!(account = made.id, "first admin made by setup");
        let auth = AuthApi {
            state: self.state.clone(),
        };
        let session = auth
            .start_session(req, &made, body.refresh_in.0, Factor::Setup)
            .await?;
        Ok(Created(session))
    }
}
