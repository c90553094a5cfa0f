//! The sync pipeline: fetch → validate → guard → store in one transaction → finalize
//! due races → tell the rest. `Syncer::run` does one sync and records it, whatever
//! happens; the scheduler and `goated sync` both call it.

pub mod breaker;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use self::breaker::{Breaker, Permit};
use crate::clock::Clock;
use crate::config::{Config, UpstreamMode};
use crate::db::sync_runs::{self, Outcome};
use crate::db::{
    Db, DbResult, cache, players, race_defs, races, refresh_tokens, settings, sources, timestamp,
};
use crate::domain::races::{Basis, wagers};
use crate::domain::runs::{Circuit, RunOutcome};
use crate::domain::transform::{
    PayloadError, Transformed, is_flooded, is_suspect, transform, transform_limited,
};
use crate::events::{Event, Events};
use crate::races::finalize;
pub use crate::status::Trigger;
use crate::status::{AuthFailure, LocalFailure, SharedStatus, SyncStatus, cron_interval};
use crate::upstream::client::LiveClient;
use crate::upstream::demo::Simulator;
use crate::upstream::ratelimit::RateLimiter;
use crate::upstream::token::{self, TokenStore};
use crate::upstream::{ErrorClass, FetchError, LeaderboardSource, Source, StopFlag};

/// The database cache key of the last good upstream body, gzipped (see [`pack`]; before
/// 2026-12-03 it was kept as it came, which a reader tells by the gzip magic bytes).
pub const LAST_GOOD_PAYLOAD: &str = "upstream:last_good";
/// How a run judged a tenfold board says so (and how the next run recognizes it).
const FLOODED: &str = ": not applied (ten times the last good; applied if the next answer agrees)";
const AUTH_FAILED_SETTING: &str = "upstream.auth_failed";

/// What one sync did, as recorded in `sync_runs`.
#[derive(Debug, Clone)]
pub struct Report {
    pub run_id: i64,
    pub outcome: Outcome,
    pub finalized: Vec<String>,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.outcome.outcome == RunOutcome::Success
    }
}

pub struct Syncer {
    db: Db,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    tokens: TokenStore,
    stop: StopFlag,
    demo: Simulator,
    live: Option<LiveClient>,
    breaker: Breaker,
    status: SharedStatus,
    events: Events,
    /// The one limit of upstream requests, shared with checks of a new token.
    limiter: Arc<RateLimiter>,
}

impl Syncer {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
        events: Events,
    ) -> DbResult<Self> {
        let up = &config.upstream;
        let tokens = TokenStore::new(up.token.clone(), db.clone())?;
        let limiter = Arc::new(RateLimiter::new(up.requests_per_minute));
        let stop = StopFlag::default();
        let demo = Simulator::new(
            up.demo_seed,
            up.demo_players,
            clock.clone(),
            config.race.timezone_offset_minutes,
        );
        let live = up.referral_code.as_deref().map(|code| {
            LiveClient::new(
                up,
                code,
                tokens.clone(),
                limiter.clone(),
                clock.clone(),
                stop.clone(),
            )
        });
        let breaker = Breaker::new(
            config.sync.breaker_failures,
            std::time::Duration::from_secs(config.sync.breaker_cooldown_secs),
        );
        let now = timestamp(clock.now());
        let (last_run, last_success, auth_failed) = db.write_blocking(|tx| {
            let interrupted = sync_runs::mark_interrupted(tx, &now)?;
            if interrupted > 0 {
                tracing::warn!(interrupted, "sync runs were cut off by the last stop");
            }
            Ok((
                sync_runs::last(tx)?,
                sync_runs::last_success(tx)?,
                settings::get(tx, AUTH_FAILED_SETTING)?,
            ))
        })?;
        let mut syncer = Syncer {
            status: Arc::new(RwLock::new(SyncStatus {
                source: Source::Demo,
                last_run,
                last_success_at: None,
                last_success: None,
                circuit: Circuit::Closed,
                auth_failure: auth_failed.map(|fingerprint| AuthFailure {
                    at: clock.now(),
                    fingerprint,
                    message: "the upstream refused this token before the last restart".into(),
                }),
                local_failure: None,
                backup_failure: None,
                token_warning: chrono::Duration::hours(i64::from(
                    config.notify.token_warning_hours,
                )),
                token_expires_at: None,
                interval: cron_interval(&Self::cron_for(&config, Source::Demo)),
            })),
            db,
            config,
            clock,
            tokens,
            stop,
            demo,
            live,
            breaker,
            events,
            limiter,
        };
        syncer.status.write().set_last_success(last_success);
        syncer.refresh_source();
        Ok(syncer)
    }

    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    pub fn stop_flag(&self) -> StopFlag {
        self.stop.clone()
    }

    /// The limit every upstream request obeys, syncs' and token checks' alike.
    pub fn limiter(&self) -> Arc<RateLimiter> {
        self.limiter.clone()
    }

    pub fn tokens(&self) -> TokenStore {
        self.tokens.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The cron expression the leaderboard sync follows for a source.
    pub fn cron_for(config: &Config, source: Source) -> String {
        match source {
            Source::Demo => config.sync.demo_cron.clone(),
            Source::Live => config.sync.leaderboard_cron.clone(),
        }
    }

    /// Live when configured so, or in auto mode once a referral code and a token exist.
    pub fn current_source(&self) -> Source {
        let up = &self.config.upstream;
        match up.mode {
            UpstreamMode::Live => Source::Live,
            UpstreamMode::Demo => Source::Demo,
            UpstreamMode::Auto if up.referral_code.is_some() && self.tokens.current().is_some() => {
                Source::Live
            }
            UpstreamMode::Auto => Source::Demo,
        }
    }

    /// Re-reads the token (it may have been replaced) and what follows from it.
    pub fn refresh_source(&mut self) -> Source {
        let source = self.current_source();
        let expires = self.tokens.current().as_ref().and_then(token::expiry);
        let mut status = self.status.write();
        status.source = source;
        status.interval = cron_interval(&Self::cron_for(&self.config, source));
        status.token_expires_at = if source == Source::Live {
            expires
        } else {
            None
        };
        source
    }

    /// One sync, start to finish, recorded in `sync_runs` whatever happens; when even
    /// that record cannot be written (a full disk), the shared status still says that
    /// syncs fail here, so `/api/health` is `degraded` until a sync stores again.
    pub fn run(&mut self, trigger: Trigger) -> DbResult<Report> {
        let mut local = None;
        let ran = self.run_recorded(trigger, &mut local);
        let failure = match &ran {
            Err(err) => Some(format!("the sync could not be recorded: {err}")),
            Ok(_) => local,
        };
        let now = self.clock.now();
        let mut status = self.status.write();
        status.local_failure = failure.map(|message| LocalFailure {
            since: status.local_failure.as_ref().map_or(now, |f| f.since),
            message,
        });
        ran
    }

    fn run_recorded(&mut self, trigger: Trigger, local: &mut Option<String>) -> DbResult<Report> {
        let source = self.refresh_source();
        let started = self.clock.now();
        let started_at = timestamp(started);
        let timer = Instant::now();
        let run_id = self.db.write_blocking(|tx| {
            sync_runs::start(tx, trigger.as_str(), source.as_str(), &started_at)
        })?;
        let outcome = match self.fetch_and_store(source, run_id, started) {
            Ok(outcome) => outcome,
            Err(Stop::Recorded(outcome)) => *outcome,
            Err(Stop::Db(err)) => {
                tracing::error!(error = %err, "sync could not be stored");
                let error = format!("storing the sync failed: {err}");
                *local = Some(error.clone());
                failed(ErrorClass::Permanent, error, 0, None)
            }
        };
        let finished = timestamp(self.clock.now());
        let duration = timer.elapsed().as_millis() as i64;
        if outcome.outcome != RunOutcome::Success {
            self.db.write_blocking(|tx| {
                sync_runs::finish(tx, run_id, &finished, duration, &outcome)
            })?;
        }
        metrics::counter!("goated_sync_runs_total", "outcome" => outcome.outcome.as_str())
            .increment(1);
        self.after_run(run_id, &outcome)?;
        let finalized = self.finalize_due()?;
        Ok(Report {
            run_id,
            outcome,
            finalized,
        })
    }

    fn fetch_and_store(
        &mut self,
        source: Source,
        run_id: i64,
        started: DateTime<Utc>,
    ) -> Result<Outcome, Stop> {
        if source == Source::Live {
            self.check_token()?;
        }
        self.check_no_mixing(source)?;
        let permit = match source {
            Source::Demo => Permit::Call,
            Source::Live => self.breaker.permit(self.clock.now()),
        };
        if let Permit::Wait(wait) = permit {
            return Err(Stop::recorded(Outcome {
                outcome: RunOutcome::Skipped,
                error_class: Some(ErrorClass::CircuitOpen),
                error: Some(format!(
                    "the upstream failed repeatedly; next try in {}s",
                    wait.as_secs() + 1
                )),
                ..Outcome::default()
            }));
        }
        let mut phases = Phases::start();
        let fetched = self.source_mut(source)?.fetch(permit == Permit::Trial);
        let fetched = match fetched {
            Ok(f) => f,
            Err(err) => return Err(Stop::recorded(self.fetch_failed(source, err))),
        };
        // An answer belongs to the race in force when it arrived, not when its request
        // left: one that left at 23:59:50 and arrived after midnight carries the next
        // period's amounts, and must not enter the race that just ended.
        let received = self.clock.now();
        let mut outcome = Outcome {
            attempts: fetched.attempts,
            http_status: fetched.http_status,
            ..Outcome::default()
        };
        phases.lap("fetch");
        // The body is kept compressed as the last good answer; compressing it on the
        // other core while this one reads and stores the answer takes it off the sync's
        // time (it is done before the answer is known to be good, and wasted when not).
        std::thread::scope(|scope| {
            let packed = scope.spawn(|| pack(&fetched.body));
            let data = match transform_limited(&fetched.body, self.config.upstream.max_entries) {
                Ok(data) => data,
                Err(err) => {
                    // Too many entries is an answer that parses but cannot be trusted,
                    // as one that shrank: suspect, not failed.
                    let suspect = matches!(err, PayloadError::TooManyEntries(_));
                    return Err(Stop::recorded(Outcome {
                        outcome: if suspect {
                            RunOutcome::Suspect
                        } else {
                            RunOutcome::Failed
                        },
                        error_class: Some(ErrorClass::Payload),
                        error: Some(err.to_string()),
                        ..outcome
                    }));
                }
            };
            phases.lap("transform");
            outcome.received = Some(data.received);
            outcome.accepted = Some(data.players.len());
            outcome.rejected = Some(data.rejected);
            if !data.reasons.is_empty() {
                tracing::warn!(rejected = data.rejected, first = %data.reasons[0], "upstream entries rejected");
                outcome.error = Some(data.reasons.join("; "));
            }
            // Compared with the last good sync of the same source: the first live answer
            // after demo mode is not suspect for being smaller than the simulation.
            let (last_good, last_good_received) = self
                .status
                .read()
                .last_success
                .as_ref()
                .filter(|r| r.source == source.as_str())
                .map_or((0, 0), |r| {
                    (
                        r.accepted.unwrap_or(0) as usize,
                        r.received.unwrap_or(0) as usize,
                    )
                });
            // A tenfold board that comes back the next sync (within a tenth) is the board
            // having grown, not a flood: applied the second time, so real growth is
            // delayed one sync, never blocked for good.
            let grown = self.status.read().last_run.as_ref().is_some_and(|r| {
                r.outcome == RunOutcome::Suspect
                    && r.source == source.as_str()
                    && r.error.as_deref().is_some_and(|e| e.contains(FLOODED))
                    && r.received.is_some_and(|before| {
                        let before = before.max(0) as usize;
                        before.abs_diff(data.received) * 10 <= before
                    })
            });
            if is_flooded(data.received, last_good_received) && !grown {
                outcome.outcome = RunOutcome::Suspect;
                outcome.error_class = Some(ErrorClass::Payload);
                outcome.error = Some(format!(
                    "{} entries where the last good sync had {last_good_received}{FLOODED}",
                    data.received
                ));
                return Err(Stop::recorded(outcome));
            }
            if is_suspect(data.players.len(), last_good) {
                outcome.outcome = RunOutcome::Suspect;
                outcome.error_class = Some(ErrorClass::Payload);
                outcome.error = Some(format!(
                    "only {} players where the last good sync had {last_good}: not applied",
                    data.players.len()
                ));
                return Err(Stop::recorded(outcome));
            }
            let race_id = crate::races::calendar(&self.config.race)
                .race_at(received)
                .to_string();
            outcome.outcome = RunOutcome::Success;
            outcome.race_id = Some(race_id);
            let finished = timestamp(self.clock.now());
            let answer = Answer {
                run_id,
                started,
                received,
                source,
                // Waited for only when it is written, at the end of the transaction.
                last_good: Some(Box::new(|| {
                    packed
                        .join()
                        .expect("compressing into memory does not fail")
                })),
                data: &data,
            };
            let stored = self.store(answer, &finished, outcome, &mut phases);
            phases.lap("commit");
            tracing::debug!(players = data.players.len(), phases = %phases, "sync stored");
            stored.map_err(Stop::Db)
        })
    }

    /// Players, every live race's snapshot, history samples, the last good body and the
    /// run's record: one transaction, so a crash leaves either all of it or none. The
    /// answer goes to every race whose window contains the moment it was received; what
    /// a race refused (amounts that went down, an upstream reset) is recorded on the run.
    fn store(
        &self,
        answer: Answer<'_>,
        finished: &str,
        mut outcome: Outcome,
        phases: &mut Phases,
    ) -> DbResult<Outcome> {
        let started_at = timestamp(answer.started);
        let received_at = timestamp(answer.received);
        let offset = chrono::Duration::minutes(i64::from(self.config.race.timezone_offset_minutes));
        let local_day = (answer.started + offset).format("%Y-%m-%d").to_string();
        let duration = (self.clock.now() - answer.started)
            .num_milliseconds()
            .max(0);
        let source = answer.source.as_str();
        let data = answer.data;
        let last_good = answer.last_good;
        self.db.write_blocking(|tx| {
            let before = sources::current(tx)?;
            if source == "live" && before.as_ref().is_none_or(|(s, _)| s == "demo") {
                let purged = sources::purge_demo(tx)?;
                if purged != sources::Purged::default() {
                    tracing::info!(
                        players = purged.players,
                        races = purged.races,
                        "live data arrived: the demo data was removed (accounts stay)"
                    );
                }
            }
            // The answer before this one, if it came from the same source: a race that
            // started after it takes it (the players table as it stands) as baseline.
            let previous = before
                .filter(|(s, _)| s == source)
                .map(|(_, at)| crate::db::parse_timestamp(&at))
                .transpose()?;
            crate::races::ensure_weekly(
                tx,
                self.config.race.timezone_offset_minutes,
                answer.received,
            )?;
            let live = crate::races::live_at(tx, &self.config.race, answer.received)?;
            let mut baselines = Vec::new();
            for race in &live {
                if race.basis != Basis::AllTimeDifference
                    || races::has_snapshot(tx, &race.id, source)?
                {
                    baselines.push(None);
                    continue;
                }
                let baseline_at = match previous {
                    Some(at) if at < race.start => {
                        race_defs::set_baseline(
                            tx,
                            &race.id,
                            race_defs::players_all_time(tx)?.into_iter(),
                        )?;
                        timestamp(at)
                    }
                    _ => {
                        let values = data.players.iter().map(|p| {
                            (
                                p.uid.clone(),
                                crate::domain::Cents::from_dollars(p.wagered.all_time).0,
                            )
                        });
                        race_defs::set_baseline(tx, &race.id, values)?;
                        received_at.clone()
                    }
                };
                baselines.push(Some(baseline_at));
            }
            phases.lap("baselines");
            players::apply(tx, &data.players, &started_at, source)?;
            phases.lap("players");
            players::record_history(tx, &local_day, source, &started_at)?;
            phases.lap("history");
            let mut notes = Vec::new();
            for (race, baseline_at) in live.iter().zip(&baselines) {
                let baseline = match race.basis {
                    Basis::ThisMonth => Default::default(),
                    Basis::AllTimeDifference => race_defs::baseline(tx, &race.id)?,
                };
                let run = races::SnapshotRun {
                    sync_run_id: answer.run_id,
                    sync_started_at: &started_at,
                    source,
                    baseline_at: baseline_at.as_deref(),
                };
                let change = races::merge_snapshot(tx, &race.id, &run, |stored| {
                    wagers(race.basis, &data.players, &baseline, stored)
                })?;
                if let Some(note) = refusal_note(&race.id, &change) {
                    tracing::warn!(race = %race.id, "{note}");
                    notes.push(note);
                }
            }
            if !notes.is_empty() {
                if let Some(earlier) = outcome.error.take() {
                    notes.push(earlier);
                }
                outcome.error = Some(notes.join("; "));
            }
            phases.lap("races");
            sources::record(tx, source, &received_at)?;
            if let Some(packed) = last_good {
                cache::put(tx, LAST_GOOD_PAYLOAD, &packed(), finished, None)?;
            }
            sync_runs::finish(tx, answer.run_id, finished, duration, &outcome)?;
            phases.lap("last_good");
            Ok(outcome)
        })
    }

    /// On a fresh install in demo mode, replays `upstream.demo_history_days` of simulated
    /// history through the real pipeline, as if the site had been running: answers
    /// every six hours and two minutes before each race ends, each stored and recorded
    /// as a `backfill` run, races finalized at their end. A weekly demo series (removed
    /// with the rest of the demo data when live data arrives) gives weekly races. Returns
    /// how many answers were replayed; 0 when there is data already, or live mode.
    pub fn backfill_demo(&mut self) -> DbResult<usize> {
        let days = i64::from(self.config.upstream.demo_history_days);
        if days == 0 || self.current_source() != Source::Demo {
            return Ok(0);
        }
        if sources::current(&*self.db.reader()?)?.is_some() {
            return Ok(0);
        }
        let now = self.clock.now();
        let from = now - chrono::Duration::days(days);
        let offset = self.config.race.timezone_offset_minutes;
        let weekly = crate::races::manage::NewSeries::demo();
        self.db.write_blocking(|tx| {
            crate::races::manage::create_series(tx, weekly, offset, from, "demo").map_err(|e| {
                match e {
                    crate::races::manage::RaceError::Db(err) => err,
                    other => crate::db::DbError::Corrupt(other.to_string()),
                }
            })?;
            crate::races::ensure_weekly(tx, offset, now)
        })?;
        let mut instants = Vec::new();
        let mut t = from;
        while t < now {
            instants.push(t);
            t += chrono::Duration::hours(6);
        }
        let mut end = from;
        loop {
            end = crate::races::next_end_after(&*self.db.reader()?, &self.config.race, end)?;
            if end >= now {
                break;
            }
            instants.push(end - chrono::Duration::minutes(2));
        }
        instants.sort();
        instants.dedup();
        for (n, &at) in instants.iter().enumerate() {
            let body =
                serde_json::to_vec(&self.demo.leaderboard_at(at)).expect("JSON values serialize");
            let data = transform(&body).map_err(|e| crate::db::DbError::Corrupt(e.to_string()))?;
            let stamp = timestamp(at);
            let run_id = self.db.write_blocking(|tx| {
                sync_runs::start(
                    tx,
                    Trigger::Backfill.as_str(),
                    Source::Demo.as_str(),
                    &stamp,
                )
            })?;
            let outcome = Outcome {
                outcome: RunOutcome::Success,
                attempts: 1,
                received: Some(data.received),
                accepted: Some(data.players.len()),
                rejected: Some(data.rejected),
                race_id: Some(
                    crate::races::calendar(&self.config.race)
                        .race_at(at)
                        .to_string(),
                ),
                ..Outcome::default()
            };
            // Each replayed answer would replace the one before: only the last is kept.
            let last_good: Option<LastGood> = (n + 1 == instants.len()).then(|| {
                let packed = pack(&body);
                Box::new(move || packed) as LastGood
            });
            let answer = Answer {
                run_id,
                started: at,
                received: at,
                source: Source::Demo,
                last_good,
                data: &data,
            };
            self.store(answer, &stamp, outcome, &mut Phases::start())?;
            finalize::finalize_due(&self.db, &self.config.race, at)?;
        }
        self.reload_last_runs()?;
        tracing::info!(answers = instants.len(), days, "demo history replayed");
        Ok(instants.len())
    }

    /// Once live data is stored, the demo simulator's answers are not stored beside it
    /// (in `auto` mode after the token is removed, say): the site keeps the live data.
    fn check_no_mixing(&self, source: Source) -> Result<(), Stop> {
        if source != Source::Demo {
            return Ok(());
        }
        let stored = sources::current(&*self.db.reader().map_err(Stop::Db)?).map_err(Stop::Db)?;
        if stored.is_some_and(|(s, _)| s == "live") {
            return Err(Stop::recorded(Outcome {
                outcome: RunOutcome::Skipped,
                error_class: Some(ErrorClass::Permanent),
                error: Some(
                    "live data is stored; simulated data is never mixed into it (set an upstream token)".into(),
                ),
                ..Outcome::default()
            }));
        }
        Ok(())
    }

    fn source_mut(&mut self, source: Source) -> Result<&mut dyn LeaderboardSource, Stop> {
        match source {
            Source::Demo => Ok(&mut self.demo),
            Source::Live => match self.live.as_mut() {
                Some(live) => Ok(live),
                None => Err(Stop::recorded(failed(
                    ErrorClass::Permanent,
                    "upstream.referral_code is not set".into(),
                    0,
                    None,
                ))),
            },
        }
    }

    /// After the upstream refused a token, do not call again until the token changes.
    fn check_token(&self) -> Result<(), Stop> {
        let Some(token) = self.tokens.current() else {
            return Err(Stop::recorded(failed(
                ErrorClass::Authentication,
                "no upstream token is set".into(),
                0,
                None,
            )));
        };
        let failure = self.status.read().auth_failure.clone();
        match failure {
            Some(f) if f.fingerprint == token::fingerprint(&token) => {
                Err(Stop::recorded(Outcome {
                    outcome: RunOutcome::Skipped,
                    error_class: Some(ErrorClass::Authentication),
                    error: Some(
                        "the upstream refused the current token; waiting for a new one".into(),
                    ),
                    ..Outcome::default()
                }))
            }
            _ => Ok(()),
        }
    }

    fn fetch_failed(&mut self, source: Source, err: FetchError) -> Outcome {
        tracing::warn!(
            class = err.class.as_str(),
            status = err.http_status,
            attempts = err.attempts,
            "sync failed: {}",
            err.message
        );
        if source == Source::Live && err.class == ErrorClass::Authentication {
            self.record_auth_failure(&err.message);
        }
        failed(err.class, err.message, err.attempts, err.http_status)
    }

    fn record_auth_failure(&mut self, message: &str) {
        let Some(token) = self.tokens.current() else {
            return;
        };
        let fingerprint = token::fingerprint(&token);
        tracing::error!(token = %fingerprint, "the upstream refused the token; syncing stops until it is replaced");
        let now = self.clock.now();
        let ts = timestamp(now);
        if let Err(err) = self
            .db
            .write_blocking(|tx| settings::set(tx, AUTH_FAILED_SETTING, &fingerprint, &ts))
        {
            tracing::error!(error = %err, "could not persist the authentication failure");
        }
        self.status.write().auth_failure = Some(AuthFailure {
            at: now,
            fingerprint,
            message: message.to_string(),
        });
    }

    /// Updates the breaker, the shared status and listeners after a run.
    fn after_run(&mut self, run_id: i64, outcome: &Outcome) -> DbResult<()> {
        let success = outcome.outcome == RunOutcome::Success;
        let counts_for_breaker = outcome.outcome != RunOutcome::Skipped
            && outcome.error_class != Some(ErrorClass::Authentication);
        if self.status.read().source == Source::Live && (success || counts_for_breaker) {
            self.breaker.record(success, self.clock.now());
        }
        if success && self.status.read().auth_failure.is_some() {
            self.db
                .write_blocking(|tx| settings::delete(tx, AUTH_FAILED_SETTING))?;
            self.status.write().auth_failure = None;
        }
        self.reload_last_runs()?;
        self.status.write().circuit = match self.breaker.state() {
            breaker::State::Closed => Circuit::Closed,
            breaker::State::HalfOpen => Circuit::HalfOpen,
            breaker::State::Open { .. } => Circuit::Open,
        };
        if let Some(race_id) = outcome.race_id.clone().filter(|_| success) {
            // When the answer was received, as the store recorded it: listeners judge
            // the races as of then (a store that ends just after a race's end must not
            // make its last answer look like the next race's).
            let received = sources::current(&*self.db.reader()?)?
                .map(|(_, at)| crate::db::parse_timestamp(&at))
                .transpose()?;
            let _ = self.events.send(Event::LeaderboardUpdated {
                race_id,
                version: run_id,
                at: received.unwrap_or_else(|| self.clock.now()),
            });
        }
        Ok(())
    }

    /// Reads the last run and the last good one into the shared status.
    fn reload_last_runs(&self) -> DbResult<()> {
        let (last_run, last_success) = {
            let conn = self.db.reader()?;
            (sync_runs::last(&conn)?, sync_runs::last_success(&conn)?)
        };
        let mut status = self.status.write();
        status.last_run = last_run;
        status.set_last_success(last_success);
        Ok(())
    }

    /// Stores the final result of every race that has ended; tells listeners.
    pub fn finalize_due(&self) -> DbResult<Vec<String>> {
        let done = finalize::finalize_due(&self.db, &self.config.race, self.clock.now())?;
        for race_id in &done {
            let _ = self.events.send(Event::RaceCompleted {
                race_id: race_id.clone(),
            });
        }
        Ok(done)
    }

    /// Housekeeping: prune old runs and expired cache rows, and warn about the token.
    pub fn housekeeping(&mut self) -> DbResult<()> {
        let now = self.clock.now();
        let keep = chrono::Duration::days(i64::from(self.config.sync.keep_sync_runs_days));
        let (before, now_ts) = (timestamp(now - keep), timestamp(now));
        let analytics_days = i64::from(self.config.analytics.keep_days);
        let analytics_before = (now - chrono::Duration::days(analytics_days)).timestamp();
        let (runs, rows) = self.db.write_blocking(|tx| {
            Ok((
                sync_runs::prune(tx, &before)?,
                cache::prune_expired(tx, &now_ts)?
                    + refresh_tokens::prune_expired(tx, &now_ts)?
                    + crate::db::analytics::prune(tx, analytics_before)?,
            ))
        })?;
        tracing::debug!(
            runs,
            expired_rows = rows,
            "housekeeping pruned old sync runs, cache rows, refresh tokens and analytics"
        );
        self.check_token_expiry();
        Ok(())
    }

    pub fn check_token_expiry(&mut self) {
        self.refresh_source();
        let status = self.status.read();
        let now = self.clock.now();
        if let Some(exp) = status
            .token_expires_at
            .filter(|_| status.token_expires_soon(now))
        {
            if exp <= now {
                tracing::error!(expired_at = %exp, "the upstream token has expired; replace it");
            } else {
                tracing::warn!(expires_at = %exp, "the upstream token expires soon; replace it");
            }
        }
    }
}

/// One good answer on its way into the database.
struct Answer<'a> {
    run_id: i64,
    started: DateTime<Utc>,
    received: DateTime<Utc>,
    source: Source,
    /// The body gzipped, to keep as the last good answer (`None`: keep the one there).
    last_good: Option<LastGood<'a>>,
    data: &'a Transformed,
}

/// Gives the gzipped body when it is written (its compression may still be running).
type LastGood<'a> = Box<dyn FnOnce() -> Vec<u8> + 'a>;

/// The last good body as it is kept: gzip at the fastest level. A 100,000-player body
/// of 14.5 MB keeps in a few MB, written on every sync.
fn pack(body: &[u8]) -> Vec<u8> {
    crate::gzip::encode(body, crate::gzip::Compression::fast())
}

/// Why a sync ended early: recorded as such, or a storage failure.
enum Stop {
    Recorded(Box<Outcome>),
    Db(crate::db::DbError),
}

impl Stop {
    fn recorded(outcome: Outcome) -> Stop {
        Stop::Recorded(Box::new(outcome))
    }
}

/// What a race refused of an answer, for the sync run's record.
fn refusal_note(race_id: &str, change: &races::SnapshotChange) -> Option<String> {
    use races::SnapshotChange::*;
    match change {
        Stored { refused } if refused.is_empty() => None,
        Stored { refused } => Some(format!(
            "race {race_id}: {} amount(s) went down and were refused (kept their last value): {}",
            refused.len(),
            refused
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Older => None,
        Reset { went_down, of } => Some(format!(
            "race {race_id}: the upstream reset its amounts ({went_down} of {of} went down); \
             the race keeps its standings from before the reset"
        )),
        Frozen => Some(format!(
            "race {race_id}: not updated, it keeps its standings from before the upstream's reset"
        )),
    }
}

fn failed(class: ErrorClass, error: String, attempts: u32, http_status: Option<u16>) -> Outcome {
    Outcome {
        outcome: RunOutcome::Failed,
        error_class: Some(class),
        attempts,
        http_status,
        error: Some(error),
        ..Outcome::default()
    }
}

/// How long each step of storing an answer took, logged at `debug` after every sync so
/// that an operator (or `scripts/bench-sync.sh`) sees where a slow sync spends its time.
struct Phases {
    last: Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Self {
        Phases {
            last: Instant::now(),
            laps: Vec::with_capacity(8),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, took)) in self.laps.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{name}={}ms", took.as_millis())?;
        }
        Ok(())
    }
}
