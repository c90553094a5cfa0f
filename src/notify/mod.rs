//! Notifications to Discord webhooks and a Telegram chat (SPEC §11). Two tasks, both off
//! the sync's path:
//!
//! - the **watcher** listens to events (a sync landed, a race was finalized), looks at
//!   the races and queues messages in the database: a race started, a new leader, the
//!   last 24 hours, the results. Each event is queued once per destination (a unique
//!   key), so a restart or a repeated event never sends twice.
//! - the **worker** sends what is due, each destination at most `notify.per_minute`
//!   a minute; a failure is retried with exponential backoff up to `notify.max_attempts`;
//!   a 4xx other than 429 pauses the destination (shown in `/api/health` and on the admin
//!   page) until an admin sends a test message.
//!
//! Every delivery stays in `notifications`. Nothing runs when nothing is configured.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Db, DbResult, notifications, settings, timestamp};
use crate::domain::announce;
use crate::domain::races::RaceKind;
use crate::events::Event;
use crate::read::ReadModel;

pub mod alerts;

/// Where messages go. The Discord URL and the bot token are secrets: only `id` is shown.
#[derive(Clone)]
pub enum Destination {
    Discord {
        id: String,
        url: String,
    },
    Telegram {
        id: String,
        url: String,
        chat_id: String,
    },
}

impl Destination {
    pub fn id(&self) -> &str {
        match self {
            Destination::Discord { id, .. } | Destination::Telegram { id, .. } => id,
        }
    }
}

/// Every configured destination: `discord-1`, `discord-2`, …, and `telegram`.
pub fn destinations(config: &Config) -> Vec<Destination> {
    let n = &config.notify;
    let mut out: Vec<Destination> = n
        .discord_webhooks
        .iter()
        .enumerate()
        .map(|(i, url)| Destination::Discord {
            id: format!("discord-{}", i + 1),
            url: url.expose().to_string(),
        })
        .collect();
    if let Some(telegram) = telegram(config, "telegram", n.telegram_chat_id.as_deref()) {
        out.push(telegram);
    }
    out
}

/// A Telegram chat reached through the configured bot, when both are set.
pub fn telegram(config: &Config, id: &str, chat_id: Option<&str>) -> Option<Destination> {
    let n = &config.notify;
    let (token, chat) = (n.telegram_bot_token.as_ref()?, chat_id?);
    Some(Destination::Telegram {
        id: id.into(),
        url: format!(
            "{}/bot{}/sendMessage",
            n.telegram_api_base.trim_end_matches('/'),
            token.expose()
        ),
        chat_id: chat.to_string(),
    })
}

/// Queues `text` for every destination, once per `dedupe` key.
async fn queue(
    db: &Db,
    targets: &[Destination],
    kind: &'static str,
    race_id: Option<&str>,
    dedupe: String,
    text: String,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let ids: Vec<String> = targets.iter().map(|d| d.id().to_string()).collect();
    let race = race_id.map(str::to_string);
    let at = timestamp(now);
    db.write(move |tx| {
        for id in &ids {
            if notifications::enqueue(tx, id, kind, race.as_deref(), &dedupe, &text, &at)? {
                tracing::info!(destination = %id, kind, "notification queued");
            }
        }
        Ok(())
    })
    .await
}

/// Queues a test message for every destination and resumes the paused ones; returns how
/// many destinations it went to.
pub async fn send_test(db: &Db, config: &Config, now: DateTime<Utc>) -> DbResult<usize> {
    let targets = destinations(config);
    let ids: Vec<String> = targets.iter().map(|d| d.id().to_string()).collect();
    db.write(move |tx| {
        for id in &ids {
            notifications::resume(tx, id)?;
        }
        Ok(())
    })
    .await?;
    let text = "✅ A test message from goated: notifications reach this channel.".to_string();
    queue(
        db,
        &targets,
        "test",
        None,
        format!("test:{}", timestamp(now)),
        text,
        now,
    )
    .await?;
    Ok(targets.len())
}

/// Starts the watcher and the worker when a destination is configured.
/// What the notifier reads beside the database: the races, the sync's state, the token.
pub struct Sources {
    pub read: Arc<ReadModel>,
    pub status: crate::status::SharedStatus,
    pub tokens: crate::upstream::token::TokenStore,
}

/// Starts the watcher (community messages), the alerter (operator alerts) and the
/// worker that sends both, each only when it has a destination.
pub fn spawn(
    config: Arc<Config>,
    db: Db,
    clock: Arc<dyn Clock>,
    sources: Sources,
    events: broadcast::Receiver<Event>,
) {
    let community = destinations(&config);
    let operator = alerts::destinations(&config);
    if !community.is_empty() {
        tracing::info!(destinations = community.len(), "notifications on");
        let watcher = Watcher {
            db: db.clone(),
            clock: clock.clone(),
            read: sources.read,
            targets: community.clone(),
        };
        tokio::spawn(watcher.run(events));
    }
    if !operator.is_empty() {
        tracing::info!(destinations = operator.len(), "operator alerts on");
        let alerter = alerts::Alerter {
            config: config.clone(),
            db: db.clone(),
            clock: clock.clone(),
            status: sources.status,
            tokens: sources.tokens,
            targets: operator.clone(),
            started: clock.now(),
        };
        tokio::spawn(alerter.run());
    }
    let targets: Vec<Destination> = community.into_iter().chain(operator).collect();
    if !targets.is_empty() {
        tokio::spawn(worker(config, db, clock, targets));
    }
}

struct Watcher {
    db: Db,
    clock: Arc<dyn Clock>,
    read: Arc<ReadModel>,
    targets: Vec<Destination>,
}

impl Watcher {
    async fn run(self, mut events: broadcast::Receiver<Event>) {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                // Missed some: the next look at the races sees the state anyway.
                Err(broadcast::error::RecvError::Lagged(_)) => Event::LeaderboardUpdated {
                    race_id: String::new(),
                    version: 0,
                    at: self.clock.now(),
                },
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let done = match &event {
                Event::LeaderboardUpdated { at, .. } => self.look_at_live_races(*at).await,
                Event::RaceCompleted { race_id } => self.results(race_id).await,
            };
            if let Err(err) = done {
                tracing::error!(error = %err, "notifications: could not look at the races");
            }
        }
    }

    /// The races live when a sync's answer arrived (`now`), as that answer left them.
    async fn look_at_live_races(&self, now: DateTime<Utc>) -> DbResult<()> {
        let config = self.read.config.race.clone();
        let version = self.read.version();
        let views = self
            .db
            .read(move |c| {
                crate::races::live_at(c, &config, now)?
                    .iter()
                    .map(|race| {
                        let (hours, masking) = (config.transition_hours, config.name_masking);
                        crate::read::races::live(c, race, hours, masking, version.clone())
                    })
                    .collect::<DbResult<Vec<_>>>()
            })
            .await?;
        for view in views {
            let title = title(view.kind, &view.name);
            let id = view.id.clone();
            // Announced while it is young: a destination added mid-race is not told
            // days later that the race "has started".
            if now - view.start < chrono::Duration::hours(24) {
                let ends = view.end.format("%-d %b %H:%M UTC").to_string();
                let text =
                    announce::race_started(&title, view.prize_pool, &view.distribution, &ends);
                self.queue("race_started", &id, format!("race_started:{id}"), text)
                    .await?;
            }
            if view.end - now <= chrono::Duration::hours(24) && !view.standings.is_empty() {
                let top: Vec<_> = view.standings.iter().take(5).cloned().collect();
                let text = announce::final_day(&title, &top);
                self.queue("final_day", &id, format!("final_day:{id}"), text)
                    .await?;
            }
            self.leader(&id, &title, &view.standings).await?;
        }
        Ok(())
    }

    /// A message when the sole first place changes hands. The first leader a race has
    /// is remembered silently (the start message covers it).
    async fn leader(
        &self,
        id: &str,
        title: &str,
        standings: &[crate::domain::ranking::Standing],
    ) -> DbResult<()> {
        let (Some(first), second) = (standings.first(), standings.get(1)) else {
            return Ok(());
        };
        if second.is_some_and(|s| s.position == 1) {
            return Ok(()); // tied for first: no single leader
        }
        let key = format!("notify.leader.{id}");
        let (uid, now) = (first.uid.clone(), timestamp(self.clock.now()));
        let k = key.clone();
        let before = self
            .db
            .write(move |tx| {
                let before = settings::get(tx, &k)?;
                settings::set(tx, &k, &uid, &now)?;
                Ok(before)
            })
            .await?;
        match before {
            Some(previous) if previous != first.uid => {
                let text = announce::new_leader(title, first, second);
                let n = self.clock.now().timestamp_millis();
                self.queue(
                    "new_leader",
                    id,
                    format!("new_leader:{id}:{}:{n}", first.uid),
                    text,
                )
                .await
            }
            _ => Ok(()),
        }
    }

    async fn results(&self, race_id: &str) -> DbResult<()> {
        let Some(view) = self.read.final_race(race_id).await? else {
            return Ok(());
        };
        let winners: Vec<_> = view
            .standings
            .iter()
            .filter(|s| s.prize.0 > 0)
            .cloned()
            .collect();
        let text = announce::results(
            &title(view.kind, &view.name),
            &winners,
            view.total_wagered,
            view.standings.len(),
        );
        self.queue("results", race_id, format!("results:{race_id}"), text)
            .await
    }

    async fn queue(
        &self,
        kind: &'static str,
        race_id: &str,
        dedupe: String,
        text: String,
    ) -> DbResult<()> {
        queue(
            &self.db,
            &self.targets,
            kind,
            Some(race_id),
            dedupe,
            text,
            self.clock.now(),
        )
        .await
    }
}

fn title(kind: RaceKind, name: &str) -> String {
    match kind {
        RaceKind::Monthly => format!("the {name} race"),
        _ => name.to_string(),
    }
}

/// How a delivery went.
enum Sent {
    Ok(u16),
    /// Try again; `after` when the destination said when (429 Retry-After).
    Retry {
        status: Option<u16>,
        error: String,
        after: Option<Duration>,
    },
    /// The destination refused the request itself (a 4xx): pause it.
    Refused {
        status: u16,
        error: String,
    },
}

fn send(agent: &ureq::Agent, target: &Destination, text: &str) -> Sent {
    let (url, body) = match target {
        Destination::Discord { url, .. } => (
            url.clone(),
            serde_json::json!({"content": announce::discord_escape(text), "allowed_mentions": {"parse": []}}),
        ),
        Destination::Telegram { url, chat_id, .. } => (
            url.clone(),
            serde_json::json!({"chat_id": chat_id, "text": text, "disable_web_page_preview": true}),
        ),
    };
    let sent = agent
        .post(&url)
        .header("content-type", "application/json")
        .send(body.to_string());
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match status {
                200..=299 => Sent::Ok(status),
                429 => Sent::Retry {
                    status: Some(status),
                    error: "429 Too Many Requests".into(),
                    after: resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 3600.0))),
                },
                400..=499 => Sent::Refused {
                    status,
                    error: format!("HTTP {status}: the destination refused the message"),
                },
                _ => Sent::Retry {
                    status: Some(status),
                    error: format!("HTTP {status}"),
                    after: None,
                },
            }
        }
        // Never the URL in the message: it is the secret.
        Err(err) => Sent::Retry {
            status: None,
            error: format!("not delivered: {}", error_kind(&err)),
            after: None,
        },
    }
}

fn error_kind(err: &ureq::Error) -> &'static str {
    match err {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::HostNotFound => "host not found",
        _ => "request failed",
    }
}

const TICK: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

async fn worker(config: Arc<Config>, db: Db, clock: Arc<dyn Clock>, targets: Vec<Destination>) {
    let n = &config.notify;
    let spacing = Duration::from_millis(60_000 / u64::from(n.per_minute.max(1)));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut last_sent: HashMap<String, tokio::time::Instant> = HashMap::new();
    loop {
        tokio::time::sleep(TICK).await;
        for target in &targets {
            let id = target.id().to_string();
            if last_sent.get(&id).is_some_and(|t| t.elapsed() < spacing) {
                continue;
            }
            let now = timestamp(clock.now());
            let due = {
                let (id, now) = (id.clone(), now.clone());
                db.read(move |c| notifications::next_due(c, &id, &now))
                    .await
            };
            let delivery = match due {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(error = %err, "notifications: could not read the queue");
                    continue;
                }
            };
            last_sent.insert(id.clone(), tokio::time::Instant::now());
            let (agent, t, text) = (agent.clone(), target.clone(), delivery.text.clone());
            let outcome = tokio::task::spawn_blocking(move || send(&agent, &t, &text)).await;
            let Ok(outcome) = outcome else { continue };
            let attempts = delivery.attempts + 1;
            let (max, base) = (i64::from(n.max_attempts), n.retry_base_ms);
            let now_at = clock.now();
            let written = db
                .write(move |tx| {
                    match outcome {
                        Sent::Ok(status) => {
                            notifications::mark_sent(tx, delivery.id, status, &timestamp(now_at))?;
                        }
                        Sent::Refused { status, error } => {
                            tracing::warn!(destination = %id, status, "notifications paused: the destination refused a message");
                            notifications::pause(tx, &id, &error, &timestamp(now_at))?;
                            // Kept: it goes once an admin has fixed and resumed the destination.
                            notifications::mark_failed(tx, delivery.id, Some(status), &error, Some(&delivery.next_attempt_at))?;
                        }
                        Sent::Retry { status, error, after } => {
                            let retry = (attempts < max).then(|| {
                                let backoff = Duration::from_millis(base.saturating_mul(1 << attempts.min(20)))
                                    .min(MAX_BACKOFF);
                                let wait = after.unwrap_or(backoff);
                                timestamp(now_at + chrono::Duration::from_std(wait).unwrap_or_default())
                            });
                            tracing::warn!(destination = %id, attempts, "notification not delivered: {error}");
                            notifications::mark_failed(tx, delivery.id, status, &error, retry.as_deref())?;
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(err) = written {
                tracing::error!(error = %err, "notifications: could not record a delivery");
            }
        }
    }
}
