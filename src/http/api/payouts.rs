//! The payout ledger (SPEC §12): admins move each prize of a finished race from
//! `pending` through `approved` to `paid` (with a reference) or `void` (with a reason),
//! every change audited in its own transaction; a verified player sees their own.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::ApiTags;
use super::session::{AuditRow, BearerAuth, admin, audit, signed_in};
use super::shapes::{Omittable, Text, money};
use crate::db::audit::Action;
use crate::db::payouts::{self, Payout};
use crate::db::{races as db_races, settle, timestamp};
use crate::domain::Cents;
use crate::domain::ids::{RaceKey, Uid};
use crate::domain::payouts::{PayoutError, PayoutStatus};
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use crate::races::payouts::{self as ledger, Change, ChangeError};

/// Where a prize is on its way to the winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PayoutState {
    Pending,
    Approved,
    Paid,
    Void,
}

impl From<PayoutStatus> for PayoutState {
    fn from(s: PayoutStatus) -> Self {
        match s {
            PayoutStatus::Pending => PayoutState::Pending,
            PayoutStatus::Approved => PayoutState::Approved,
            PayoutStatus::Paid => PayoutState::Paid,
            PayoutStatus::Void => PayoutState::Void,
        }
    }
}

/// What a prize can be moved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PayoutTarget {
    Approved,
    Paid,
    Void,
}

impl From<PayoutTarget> for PayoutStatus {
    fn from(t: PayoutTarget) -> Self {
        match t {
            PayoutTarget::Approved => PayoutStatus::Approved,
            PayoutTarget::Paid => PayoutStatus::Paid,
            PayoutTarget::Void => PayoutStatus::Void,
        }
    }
}

/// One prize of a finished race.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PayoutView {
    pub race_id: String,
    pub uid: String,
    pub name: String,
    pub position: u32,
    /// Dollars.
    pub prize: f64,
    pub status: PayoutState,
    /// For a paid prize: the tip or transaction id.
    #[oai(skip_serializing_if_is_none)]
    pub reference: Option<String>,
    /// For a void prize: why.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub updated_at: String,
    /// Who made the last change (`account:ID`); absent while untouched.
    #[oai(skip_serializing_if_is_none)]
    pub updated_by: Option<String>,
}

impl From<Payout> for PayoutView {
    fn from(p: Payout) -> Self {
        PayoutView {
            race_id: p.race_id,
            uid: p.uid,
            name: p.name,
            position: p.position,
            prize: money(p.prize),
            status: p.status.into(),
            reference: p.reference,
            reason: p.reason,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RacePayouts {
    pub race_id: String,
    pub payouts: Vec<PayoutView>,
    /// Dollars still to pay (pending and approved).
    pub owed: f64,
    pub paid: f64,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PayoutChange {
    pub status: PayoutTarget,
    /// Required to mark a prize paid: the tip or transaction id (up to 200 characters).
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub reference: Omittable<Text>,
    /// Required to void a prize (up to 500 characters).
    #[oai(skip_serializing_if_is_none, validator(max_length = 500))]
    pub reason: Omittable<Text>,
}

/// Prizes in one state, over every race.
#[derive(Debug, Clone, Object)]
pub struct StatusTotal {
    pub status: PayoutState,
    pub count: u32,
    /// Dollars.
    pub amount: f64,
}

#[derive(Debug, Clone, Object)]
pub struct PayoutTotals {
    /// Dollars still to pay (pending and approved), over every race.
    pub owed: f64,
    /// Dollars paid, over every race.
    pub paid: f64,
    pub by_status: Vec<StatusTotal>,
}

pub struct PayoutsApi {
    pub state: Arc<AppState>,
}

/// Dollars owed (pending and approved) and paid, of `(status, amount)` pairs.
fn owed_and_paid(items: impl Iterator<Item = (PayoutStatus, Cents)> + Clone) -> (f64, f64) {
    let sum = |pick: fn(PayoutStatus) -> bool| {
        money(Cents::total(
            items.clone().filter(|(s, _)| pick(*s)).map(|(_, c)| c),
        ))
    };
    (
        sum(|s| matches!(s, PayoutStatus::Pending | PayoutStatus::Approved)),
        sum(|s| s == PayoutStatus::Paid),
    )
}

impl From<ChangeError> for ApiError {
    fn from(err: ChangeError) -> Self {
        match err {
            ChangeError::NoPrize { .. } => ApiError::not_found(err.to_string()),
            ChangeError::Refused(refused @ PayoutError::ReferenceRequired) => {
                ApiError::validation("reference", refused.to_string())
            }
            ChangeError::Refused(refused @ PayoutError::ReasonRequired) => {
                ApiError::validation("reason", refused.to_string())
            }
            ChangeError::Refused(refused @ PayoutError::Transition { .. }) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                refused.to_string(),
            ),
            ChangeError::Db(err) => ApiError::from(err),
        }
    }
}

#[OpenApi]
impl PayoutsApi {
    /// A finished race's prizes and where each one is.
    #[oai(
        path = "/admin/races/:race_id/payouts",
        method = "get",
        tag = "ApiTags::Admin"
    )]
    async fn race_payouts(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceKey>,
    ) -> ApiResult<Success<RacePayouts>> {
        let actor = admin(&self.state, &auth).await?;
        let id = race_id.0.into_string();
        let key = id.clone();
        let found = self
            .state
            .db
            .read(move |c| {
                if !db_races::is_final(c, &key)? {
                    return Ok(None);
                }
                Ok(Some(payouts::for_race(c, &key)?))
            })
            .await?
            .ok_or_else(|| ApiError::not_found(format!("Race {id} is not finished.")))?;
        AuditRow::new(&self.state, req, &actor, Action::PayoutsList)
            .target(id.clone())
            .record(&self.state)
            .await?;
        let (owed, paid) = owed_and_paid(found.iter().map(|p| (p.status, p.prize)));
        Ok(Success::new(&RacePayouts {
            race_id: id,
            payouts: found.into_iter().map(PayoutView::from).collect(),
            owed,
            paid,
        }))
    }

    /// Moves one prize: `approved`, then `paid` with a `reference`; or `void` with a
    /// `reason`. Paid and void prizes are final (409).
    #[oai(
        path = "/admin/races/:race_id/payouts/:uid",
        method = "patch",
        tag = "ApiTags::Admin"
    )]
    async fn change(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceKey>,
        uid: Path<Uid>,
        body: Json<PayoutChange>,
    ) -> ApiResult<Success<PayoutView>> {
        let actor = admin(&self.state, &auth).await?;
        let PayoutChange {
            status,
            reference,
            reason,
        } = body.0;
        let asked = Change {
            to: PayoutStatus::from(status),
            reference: reference.text(),
            reason: reason.text(),
        };
        let row = AuditRow::new(&self.state, req, &actor, Action::PayoutChange)
            .target(format!("{}/{}", race_id.0, uid.0));
        let (race, player) = (race_id.0.into_string(), uid.0.into_string());
        let (now, by) = (timestamp(self.state.clock.now()), actor.label.clone());
        let changed = self
            .state
            .db
            .write(move |tx| {
                let changed = ledger::change(tx, &race, &player, asked, &now, &by);
                if let Ok((payout, from)) = &changed {
                    row.detail(format!("{from} -> {}", payout.status))
                        .write(tx)?;
                }
                settle(changed.map(|(payout, _)| payout))
            })
            .await??;
        Ok(Success::new(&PayoutView::from(changed)))
    }

    /// What is owed and paid over every finished race.
    #[oai(path = "/admin/payouts", method = "get", tag = "ApiTags::Admin")]
    async fn totals(&self, req: &Request, auth: BearerAuth) -> ApiResult<Success<PayoutTotals>> {
        let actor = admin(&self.state, &auth).await?;
        let totals = self.state.db.read(payouts::totals).await?;
        audit(&self.state, req, &actor, Action::PayoutsTotals).await?;
        let (owed, paid) = owed_and_paid(totals.iter().map(|t| (t.0, t.2)));
        Ok(Success::new(&PayoutTotals {
            owed,
            paid,
            by_status: totals
                .iter()
                .map(|(status, count, cents)| StatusTotal {
                    status: (*status).into(),
                    count: *count as u32,
                    amount: money(*cents),
                })
                .collect(),
        }))
    }

    /// The signed-in account's prizes, when it is verified as a player: every finished
    /// race it placed in the money, and where each prize is.
    #[oai(path = "/auth/me/payouts", method = "get", tag = "ApiTags::Auth")]
    async fn mine(&self, auth: BearerAuth) -> ApiResult<Success<Vec<PayoutView>>> {
        let account = signed_in(&self.state, &auth).await?;
        let Some(uid) = account.goated_uid else {
            return Ok(Success::new(&Vec::new()));
        };
        let mine = self
            .state
            .db
            .read(move |c| payouts::for_uid(c, &uid))
            .await?;
        Ok(Success::new(
            &mine.into_iter().map(PayoutView::from).collect::<Vec<_>>(),
        ))
    }
}
