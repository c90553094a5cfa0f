//! Operator alerts (SPEC §14): what needs the operator, told to them alone (a private
//! Discord webhook, `notify.operator_discord_webhook`, and/or a Telegram chat,
//! `notify.operator_telegram_chat_id` with `notify.telegram_bot_token`), through the same
//! queue, retries and pausing as the community's messages.
//!
//! Every `notify.alert_check_secs` the alerter looks at what is wrong now: the Goated
//! token expiring within `notify.token_warning_hours`, the token refused (syncing
//! stopped), the circuit open, no successful sync for three intervals, syncs failing on
//! this server (a full disk), a finished race with prizes to approve, verification
//! requests waiting, the last backup failed. A cause is told once when it begins and
//! once more when it clears; which causes are open is kept in the database, so a
//! restart tells nothing twice. Verification requests are told at most once an hour.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Db, DbResult, payouts, settings, timestamp, verification};
use crate::domain::Cents;
use crate::domain::runs::Circuit;
use crate::status::SharedStatus;
use crate::upstream::token::{self, TokenStore};

use super::{Destination, queue};

/// The settings key that says a cause is open; its value is since when, a line break,
/// and the message to send when it clears.
const OPEN: &str = "alert.open.";
/// When the verification cause last sent a message.
const VERIFICATIONS_SENT: &str = "alert.sent.verifications";

/// One thing that needs the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Stable: `token_expiring`, `payouts:RACE`, …
    pub key: String,
    /// The message when it begins.
    pub alert: String,
    /// The message when it clears.
    pub cleared: String,
}

/// What the alerter reads to judge the causes.
pub struct Inputs {
    pub now: DateTime<Utc>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub warning: chrono::Duration,
    pub auth_failed: Option<String>,
    pub circuit: Circuit,
    pub last_success: Option<DateTime<Utc>>,
    pub started: DateTime<Utc>,
    pub interval: chrono::Duration,
    pub local_failure: Option<String>,
    pub backup_failure: Option<String>,
    /// Finished races with prizes still pending: (race id, race name, count, amount).
    pub pending_payouts: Vec<(String, String, i64, Cents)>,
    pub pending_verifications: i64,
    /// `https://races.example.com/admin.html`, when the site's address is known.
    pub admin_page: Option<String>,
}

/// Every cause open at `inputs.now`. Pure: the tests call it with made-up inputs.
pub fn causes(i: &Inputs) -> Vec<Cause> {
    let page = i.admin_page.as_deref().map_or_else(
        || "the admin page".to_string(),
        |p| format!("the admin page ({p})"),
    );
    let mut out = Vec::new();
    if let Some(exp) = i.token_expires_at.filter(|exp| *exp - i.now < i.warning) {
        let when = if exp <= i.now {
            "has expired: syncing will stop".to_string()
        } else {
            let left = exp - i.now;
            format!(
                "expires in {} h {:02} min",
                left.num_hours(),
                left.num_minutes() % 60
            )
        };
        out.push(Cause {
            key: "token_expiring".into(),
            alert: format!("⏳ The Goated token {when}. Paste a fresh one on {page}."),
            cleared: "✅ A fresh Goated token is in place.".into(),
        });
    }
    if let Some(why) = &i.auth_failed {
        out.push(Cause {
            key: "token_refused".into(),
            alert: format!(
                "⛔ Goated.com refused the token and syncing has stopped ({why}). Paste a fresh \
                 token on {page}; the site shows the last good data meanwhile."
            ),
            cleared: "✅ Syncing has resumed with the new token.".into(),
        });
    }
    if i.circuit == Circuit::Open {
        out.push(Cause {
            key: "circuit_open".into(),
            alert: "⚠️ Goated.com keeps failing: syncing pauses between tries, and the site \
                    shows the last good data."
                .into(),
            cleared: "✅ Goated.com answers again.".into(),
        });
    }
    let since = i.last_success.unwrap_or(i.started);
    if i.now - since > i.interval * 3 {
        let hours = (i.now - since).num_minutes() as f64 / 60.0;
        out.push(Cause {
            key: "no_sync".into(),
            alert: format!(
                "⚠️ No successful sync for {hours:.1} hours: the races on the site are not moving."
            ),
            cleared: "✅ Syncs succeed again.".into(),
        });
    }
    if let Some(why) = &i.local_failure {
        out.push(Cause {
            key: "local_failure".into(),
            alert: format!(
                "⚠️ Syncs fail on the server itself: {why}. Free disk space or check the server."
            ),
            cleared: "✅ Syncs are stored again.".into(),
        });
    }
    if let Some(why) = &i.backup_failure {
        out.push(Cause {
            key: "backup_failed".into(),
            alert: format!("💾 The scheduled backup failed: {why}."),
            cleared: "✅ Backups work again.".into(),
        });
    }
    for (race, name, count, amount) in &i.pending_payouts {
        let dollars = amount.to_dollars();
        out.push(Cause {
            key: format!("payouts:{race}"),
            alert: format!(
                "🏆 {name} finished: {count} prize{}, ${dollars:.2} in all, to approve on {page}.",
                if *count == 1 { "" } else { "s" }
            ),
            cleared: format!("✅ Every prize of {name} is decided."),
        });
    }
    if i.pending_verifications > 0 {
        let n = i.pending_verifications;
        out.push(Cause {
            key: "verifications".into(),
            alert: format!(
                "🪪 {n} verification request{} waiting on {page}.",
                if n == 1 { " is" } else { "s are" }
            ),
            cleared: "✅ No verification request is waiting.".into(),
        });
    }
    out
}

/// The operator's destinations: `operator-discord`, `operator-telegram`.
pub fn destinations(config: &Config) -> Vec<Destination> {
    let n = &config.notify;
    let mut out = Vec::new();
    if let Some(url) = &n.operator_discord_webhook {
        out.push(Destination::Discord {
            id: "operator-discord".into(),
            url: url.expose().to_string(),
        });
    }
    let chat = n.operator_telegram_chat_id.as_deref();
    if let Some(telegram) = super::telegram(config, "operator-telegram", chat) {
        out.push(telegram);
    }
    out
}

pub struct Alerter {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub status: SharedStatus,
    pub tokens: TokenStore,
    pub targets: Vec<Destination>,
    pub started: DateTime<Utc>,
}

impl Alerter {
    pub async fn run(self) {
        let every = Duration::from_secs(self.config.notify.alert_check_secs.max(1));
        loop {
            tokio::time::sleep(every).await;
            if let Err(err) = self.look().await {
                tracing::error!(error = %err, "operator alerts: could not look");
            }
        }
    }

    async fn inputs(&self) -> DbResult<Inputs> {
        let now = self.clock.now();
        let (pending_payouts, pending_verifications) = self
            .db
            .read(|c| {
                Ok((
                    payouts::pending_by_race(c)?,
                    verification::pending_count(c)?,
                ))
            })
            .await?;
        let status = self.status.read().clone();
        let notify = &self.config.notify;
        Ok(Inputs {
            now,
            token_expires_at: self.tokens.current().as_ref().and_then(token::expiry),
            warning: chrono::Duration::hours(i64::from(notify.token_warning_hours)),
            auth_failed: status.auth_failure.map(|f| f.message),
            circuit: status.circuit,
            last_success: status.last_success_at,
            started: self.started,
            interval: chrono::Duration::from_std(status.interval)
                .unwrap_or(chrono::Duration::minutes(5)),
            local_failure: status.local_failure.map(|f| f.message),
            backup_failure: status.backup_failure,
            pending_payouts,
            pending_verifications,
            admin_page: self
                .config
                .site
                .public_url
                .as_deref()
                .map(|u| format!("{}/admin.html", u.trim_end_matches('/'))),
        })
    }

    /// Opens the causes that began and closes the ones that cleared, queueing a message
    /// for each change.
    pub async fn look(&self) -> DbResult<()> {
        let inputs = self.inputs().await?;
        let now = inputs.now;
        let open_now = causes(&inputs);
        let was_open = self.db.read(|c| settings::with_prefix(c, OPEN)).await?;
        for cause in &open_now {
            let key = format!("{OPEN}{}", cause.key);
            if was_open.iter().any(|(k, _)| *k == key) {
                continue;
            }
            if cause.key == "verifications" && !self.hour_since_verifications(now).await? {
                continue;
            }
            let (k, at) = (key.clone(), timestamp(now));
            let value = format!("{at}\n{}", cause.cleared);
            self.db
                .write(move |tx| settings::set(tx, &k, &value, &at))
                .await?;
            self.send(&cause.key, &cause.alert, now).await?;
        }
        for (key, value) in &was_open {
            let name = &key[OPEN.len()..];
            if open_now.iter().any(|c| c.key == name) {
                continue;
            }
            let k = key.clone();
            self.db.write(move |tx| settings::delete(tx, &k)).await?;
            let (since, cleared) = value.split_once('\n').unwrap_or((value, "✅ Cleared."));
            if name == "verifications" && !self.hour_since_verifications(now).await? {
                continue;
            }
            self.send(&format!("{name}:cleared:{since}"), cleared, now)
                .await?;
        }
        Ok(())
    }

    async fn hour_since_verifications(&self, now: DateTime<Utc>) -> DbResult<bool> {
        let last = self
            .db
            .read(|c| settings::get(c, VERIFICATIONS_SENT))
            .await?
            .and_then(|t| t.parse::<DateTime<Utc>>().ok());
        if last.is_some_and(|last| now - last < chrono::Duration::hours(1)) {
            return Ok(false);
        }
        let at = timestamp(now);
        self.db
            .write(move |tx| settings::set(tx, VERIFICATIONS_SENT, &at, &at))
            .await?;
        Ok(true)
    }

    async fn send(&self, key: &str, text: &str, now: DateTime<Utc>) -> DbResult<()> {
        tracing::warn!(cause = key, "operator alert: {text}");
        queue(
            &self.db,
            &self.targets,
            "alert",
            None,
            format!("alert:{key}:{}", timestamp(now)),
            text.to_string(),
            now,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(now: DateTime<Utc>) -> Inputs {
        Inputs {
            now,
            token_expires_at: Some(now + chrono::Duration::hours(20)),
            warning: chrono::Duration::hours(3),
            auth_failed: None,
            circuit: Circuit::Closed,
            last_success: Some(now - chrono::Duration::minutes(4)),
            started: now - chrono::Duration::days(1),
            interval: chrono::Duration::minutes(5),
            local_failure: None,
            backup_failure: None,
            pending_payouts: vec![],
            pending_verifications: 0,
            admin_page: None,
        }
    }

    #[test]
    fn nothing_is_open_when_all_is_well() {
        assert!(causes(&quiet("2026-12-06T12:00:00Z".parse().unwrap())).is_empty());
    }

    #[test]
    fn each_cause_opens_on_its_condition() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let mut i = quiet(now);
        i.token_expires_at = Some(now + chrono::Duration::minutes(150));
        i.auth_failed = Some("HTTP 401".into());
        i.circuit = Circuit::Open;
        i.last_success = Some(now - chrono::Duration::minutes(16));
        i.backup_failure = Some("disk".into());
        i.pending_payouts = vec![("202611".into(), "November".into(), 3, Cents(50_000))];
        i.pending_verifications = 2;
        i.admin_page = Some("https://r.example/admin.html".into());
        let open = causes(&i);
        let keys: Vec<&str> = open.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "token_expiring",
                "token_refused",
                "circuit_open",
                "no_sync",
                "backup_failed",
                "payouts:202611",
                "verifications"
            ]
        );
        assert!(
            open[0].alert.contains("expires in 2 h 30 min"),
            "{}",
            open[0].alert
        );
        assert!(open[0].alert.contains("https://r.example/admin.html"));
        assert!(
            open[5].alert.contains("3 prizes, $500.00 in all,"),
            "{}",
            open[5].alert
        );
        // Three intervals is the line: 15 minutes is not yet past it.
        i.last_success = Some(now - chrono::Duration::minutes(15));
        assert!(!causes(&i).iter().any(|c| c.key == "no_sync"));
    }
}
