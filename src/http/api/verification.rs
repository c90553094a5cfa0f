//! `/api/verification/*`: an account proves it is a Goated player; an admin decides.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Union};

use super::ApiTags;
use super::session::{AuditRow, BearerAuth, admin, require_admin_address, signed_in};
use super::shapes::{Omittable, Text};
use crate::accounts::claims::{self, ClaimError, Claimed};
use crate::db::audit::Action;
use crate::db::settle;
use crate::db::verification::{self, Request as Claim};
use crate::domain::accounts::ClaimStatus;
use crate::domain::ids::Uid;
use crate::http::envelope::{Created, Success};
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;

/// Claim by the player's name on Goated (case-insensitive).
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ClaimByName {
    #[oai(validator(min_length = 1, max_length = 128))]
    pub goated_username: Text,
}

/// Claim by the player's Goated uid (needed when several players share a name).
#[derive(Debug, Object)]
pub struct ClaimByUid {
    pub uid: Uid,
}

/// Exactly one of `goatedUsername` and `uid` (the schema says so with `oneOf`).
#[derive(Debug, Union)]
#[oai(one_of)]
pub enum ClaimRequest {
    ByName(ClaimByName),
    ByUid(ClaimByUid),
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ConfirmRequest {
    pub request_id: i64,
    pub approve: bool,
    #[oai(skip_serializing_if_is_none, validator(max_length = 500))]
    pub note: Omittable<Text>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ClaimView {
    pub id: i64,
    /// The account that claims.
    pub username: String,
    pub goated_uid: String,
    pub goated_name: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub created_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub decided_at: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
}

/// A refused claim changes nothing and commits nothing worth keeping; a database error
/// rolls the transaction back.
impl From<ClaimError> for ApiError {
    fn from(err: ClaimError) -> Self {
        match err {
            ClaimError::NoSuchPlayer | ClaimError::NoSuchClaim => {
                ApiError::not_found(err.to_string())
            }
            ClaimError::Db(err) => ApiError::from(err),
            other => conflict(other.to_string()),
        }
    }
}

impl From<Claim> for ClaimView {
    fn from(c: Claim) -> Self {
        ClaimView {
            id: c.id,
            username: c.username,
            goated_uid: c.goated_uid,
            goated_name: c.goated_name,
            status: c.status.as_str().to_string(),
            created_at: c.created_at,
            decided_at: c.decided_at,
            note: c.note,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct VerificationStatus {
    pub verified: bool,
    #[oai(skip_serializing_if_is_none)]
    pub goated_uid: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub pending: Option<ClaimView>,
    /// Every claim of this account, newest first.
    pub requests: Vec<ClaimView>,
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
}

pub struct VerificationApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/verification", tag = "ApiTags::Verification")]
impl VerificationApi {
    /// Claims a Goated player, by name or uid. The player must be in the synced list,
    /// not verified to another account, and the account may have one pending claim.
    #[oai(path = "/request", method = "post")]
    async fn request(
        &self,
        auth: BearerAuth,
        body: Json<ClaimRequest>,
    ) -> ApiResult<Created<ClaimView>> {
        let account = signed_in(&self.state, &auth).await?;
        let claimed = match body.0 {
            ClaimRequest::ByName(c) => Claimed::Name(c.goated_username.0),
            ClaimRequest::ByUid(c) => Claimed::Uid(c.uid.into_string()),
        };
        let now = self.state.clock.now();
        let (id, verified) = (account.id, account.goated_uid);
        let claim = self
            .state
            .db
            .write(move |tx| settle(claims::request(tx, id, verified.as_deref(), &claimed, now)))
            .await??;
        Ok(Created(Success::new(&ClaimView::from(claim))))
    }

    /// The signed-in account's verification state and claims.
    #[oai(path = "/status", method = "get")]
    async fn status(&self, auth: BearerAuth) -> ApiResult<Success<VerificationStatus>> {
        let account = signed_in(&self.state, &auth).await?;
        let id = account.id;
        let claims = self
            .state
            .db
            .read(move |c| verification::for_account(c, id))
            .await?;
        let requests: Vec<ClaimView> = claims.into_iter().map(ClaimView::from).collect();
        Ok(Success::new(&VerificationStatus {
            verified: account.goated_uid.is_some(),
            goated_uid: account.goated_uid,
            pending: requests
                .iter()
                .find(|r| r.status == ClaimStatus::Pending.as_str())
                .cloned(),
            requests,
        }))
    }

    /// An admin approves (linking the account to the player) or rejects a pending claim.
    #[oai(path = "/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<ConfirmRequest>,
    ) -> ApiResult<Success<ClaimView>> {
        require_admin_address(&self.state, req)?;
        let actor = admin(&self.state, &auth).await?;
        let admin_id = actor.account.as_ref().map_or(0, |a| a.id);
        let row = AuditRow::new(&self.state, req, &actor, Action::VerificationDecide);
        let ConfirmRequest {
            request_id,
            approve,
            note,
        } = body.0;
        let now = self.state.clock.now();
        let decided = self
            .state
            .db
            .write(move |tx| {
                let note = note.0.as_ref().map(|n| n.as_str());
                let decided = claims::decide(tx, request_id, approve, admin_id, note, now);
                if let Ok(claim) = &decided {
                    row.target(request_id.to_string())
                        .detail(format!("{} {}", claim.status.as_str(), claim.goated_uid))
                        .write(tx)?;
                }
                settle(decided)
            })
            .await??;
        self.state.read.invalidate();
        Ok(Success::new(&ClaimView::from(decided)))
    }
}
