//! The audit log of admin actions.

use rusqlite::{Connection, params};

use super::DbResult;

/// Every admin action the log records. The text is what the `audit_log.action` column
/// holds (and what an operator greps for), fixed here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AnalyticsRead,
    CacheFlush,
    NotificationsTest,
    PayoutChange,
    PayoutsList,
    PayoutsTotals,
    ProfileUpdate,
    RacePrizesGet,
    RacePrizesSet,
    RaceCreate,
    RaceEdit,
    RaceCancel,
    SeriesCreate,
    SeriesEdit,
    SeriesStop,
    SyncForce,
    SyncRuns,
    TotpEnroll,
    TotpDisable,
    UpstreamTokenReplace,
    UpstreamTokenStatus,
    VerificationDecide,
    VerificationList,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AnalyticsRead => "analytics.read",
            Action::CacheFlush => "cache.flush",
            Action::NotificationsTest => "notifications.test",
            Action::PayoutChange => "payout.change",
            Action::PayoutsList => "payouts.list",
            Action::PayoutsTotals => "payouts.totals",
            Action::ProfileUpdate => "profile.update",
            Action::RacePrizesGet => "race.prizes.get",
            Action::RacePrizesSet => "race.prizes.set",
            Action::RaceCreate => "race.create",
            Action::RaceEdit => "race.edit",
            Action::RaceCancel => "race.cancel",
            Action::SeriesCreate => "race.series.create",
            Action::SeriesEdit => "race.series.edit",
            Action::SeriesStop => "race.series.stop",
            Action::SyncForce => "sync.force",
            Action::SyncRuns => "sync.runs",
            Action::TotpEnroll => "totp.enroll",
            Action::TotpDisable => "totp.disable",
            Action::UpstreamTokenReplace => "upstream.token.replace",
            Action::UpstreamTokenStatus => "upstream.token.status",
            Action::VerificationDecide => "verification.decide",
            Action::VerificationList => "verification.list",
        }
    }
}

pub struct Entry<'a> {
    pub actor: &'a str,
    pub client_ip: Option<&'a str>,
    pub action: Action,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub fn record(conn: &Connection, at: &str, e: &Entry<'_>) -> DbResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, client_ip, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![at, e.actor, e.client_ip, e.action.as_str(), e.target, e.detail],
    )?;
    Ok(())
}
