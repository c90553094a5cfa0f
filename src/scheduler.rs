//! The scheduler: one named thread that runs every background job in turn (leaderboard
//! sync, month-end syncs, race finalization, housekeeping), so a sync and a
//! finalization never overlap. Missed ticks are skipped, not piled up. A command channel
//! carries "sync now" and "stop".

use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cron::Schedule;
use parking_lot::Mutex;

use crate::clock::Clock;
use crate::sync::{Report, Syncer, Trigger};
use crate::upstream::{Source, StopFlag};

/// How often the loop looks at the clock, so a clock moved by a test is noticed.
const TICK: Duration = Duration::from_millis(100);

enum Command {
    SyncNow {
        trigger: Trigger,
        reply: tokio::sync::oneshot::Sender<Report>,
    },
    Shutdown,
}

pub struct Scheduler {
    commands: mpsc::Sender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stop: StopFlag,
}

impl Scheduler {
    pub fn start(syncer: Syncer, clock: Arc<dyn Clock>) -> std::io::Result<Scheduler> {
        let (commands, inbox) = mpsc::channel();
        let stop = syncer.stop_flag();
        // Planned here, not in the thread, so the first ticks follow from the moment
        // of start-up whenever the thread gets to run.
        let planned = Loop::new(syncer, clock);
        let thread = std::thread::Builder::new()
            .name("goated-scheduler".into())
            .spawn(move || planned.run(inbox))?;
        Ok(Scheduler {
            commands,
            thread: Mutex::new(Some(thread)),
            stop,
        })
    }

    /// Queues a sync; the receiver gets its report when it has run. It still goes
    /// through the outgoing rate limit like any other.
    pub fn sync_now(&self, trigger: Trigger) -> tokio::sync::oneshot::Receiver<Report> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let _ = self.commands.send(Command::SyncNow { trigger, reply });
        receiver
    }

    /// Stops the thread, cutting short any wait, and joins it.
    pub fn shutdown(&self) {
        self.stop.stop();
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

struct Loop {
    syncer: Syncer,
    clock: Arc<dyn Clock>,
    source: Source,
    leaderboard: Schedule,
    housekeeping: Schedule,
    next_sync: Option<DateTime<Utc>>,
    next_housekeeping: Option<DateTime<Utc>>,
    next_month_end: Option<DateTime<Utc>>,
    backups: Option<Schedule>,
    next_backup: Option<DateTime<Utc>>,
    /// The next end of any race: finalization runs as soon as it has passed.
    next_race_end: DateTime<Utc>,
}

fn schedule(expression: &str) -> Schedule {
    Schedule::from_str(expression).expect("cron expressions are validated at start-up")
}

impl Loop {
    fn new(syncer: Syncer, clock: Arc<dyn Clock>) -> Self {
        let config = syncer.config();
        let source = syncer.current_source();
        let now = clock.now();
        let mut this = Loop {
            leaderboard: schedule(&Syncer::cron_for(config, source)),
            housekeeping: schedule(&config.sync.housekeeping_cron),
            source,
            next_sync: None,
            next_housekeeping: None,
            next_month_end: None,
            backups: (!config.backup.cron.is_empty()).then(|| schedule(&config.backup.cron)),
            next_backup: None,
            next_race_end: now,
            syncer,
            clock,
        };
        this.plan(now);
        this
    }

    /// Next tick of every job strictly after `now`: what was missed is skipped.
    fn plan(&mut self, now: DateTime<Utc>) {
        self.next_sync = self.leaderboard.after(&now).next();
        self.next_housekeeping = self.housekeeping.after(&now).next();
        self.next_month_end = self.month_end_after(now);
        self.next_race_end = self.race_end_after(now);
        self.next_backup = self.backups.as_ref().and_then(|s| s.after(&now).next());
    }

    /// The first end of any race after `now`. When it cannot be read, a minute from now:
    /// finalization (which reads what has ended itself) runs then and it is read again,
    /// rather than on every tick.
    fn race_end_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let config = &self.syncer.config().race;
        let found = self
            .syncer
            .db()
            .reader()
            .and_then(|c| crate::races::next_end_after(&c, config, now));
        match found {
            Ok(end) => end,
            Err(err) => {
                tracing::error!(error = %err, "could not read the next race end");
                now + chrono::Duration::minutes(1)
            }
        }
    }

    /// When to sync before the next race ends (any kind): `sync.month_end_minutes`
    /// before it and again two minutes before, so the final standings are captured
    /// before the end, whatever the upstream does at the boundary.
    fn month_end_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minutes = i64::from(self.syncer.config().sync.month_end_minutes);
        if minutes == 0 {
            return None;
        }
        let mut from = now;
        // The next two race ends: the nearer one may be closer than its sync times.
        let mut ends = Vec::new();
        for _ in 0..2 {
            let end = self.race_end_after(from);
            ends.push(end);
            from = end;
        }
        ends.into_iter()
            .flat_map(|end| {
                [
                    end - chrono::Duration::minutes(minutes),
                    end - chrono::Duration::minutes(2.min(minutes)),
                ]
            })
            .filter(|t| *t > now)
            .min()
    }

    fn run(mut self, inbox: mpsc::Receiver<Command>) {
        tracing::info!(source = self.source.as_str(), "scheduler started");
        self.job("demo history", |s| s.backfill_demo().map(drop));
        self.job("finalize", |s| s.finalize_due().map(drop));
        self.job("token check", |s| {
            s.check_token_expiry();
            Ok(())
        });
        if self.syncer.config().sync.on_startup && self.due_for_startup_sync() {
            self.sync(Trigger::Startup);
        }
        loop {
            self.run_due_jobs();
            let wait = self.until_next().min(TICK);
            match inbox.recv_timeout(wait) {
                Ok(Command::SyncNow { trigger, reply }) => {
                    if let Some(report) = self.sync(trigger) {
                        let _ = reply.send(report);
                    }
                }
                Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        tracing::info!("scheduler stopped");
    }

    fn due_for_startup_sync(&self) -> bool {
        let status = self.syncer.status();
        let status = status.read();
        match status.last_synced_at() {
            None => true,
            Some(last) => {
                let interval =
                    chrono::Duration::from_std(status.interval).unwrap_or(chrono::Duration::MAX);
                self.clock.now() - last >= interval
            }
        }
    }

    /// Next ticks count from when this round began: a tick that fell due while a job
    /// ran is run once right after it; any more that were missed are skipped.
    fn run_due_jobs(&mut self) {
        let now = self.clock.now();
        if self.next_race_end <= now {
            self.job("finalize", |s| s.finalize_due().map(drop));
            self.next_race_end = self.race_end_after(now);
        }
        let source = self.syncer.current_source();
        if source != self.source {
            tracing::info!(source = source.as_str(), "the data source changed");
            self.source = source;
            self.leaderboard = schedule(&Syncer::cron_for(self.syncer.config(), source));
            self.next_sync = self.leaderboard.after(&now).next();
        }
        if self.next_month_end.is_some_and(|t| t <= now) {
            self.sync(Trigger::MonthEnd);
            self.next_month_end = self.month_end_after(now);
        }
        if self.next_sync.is_some_and(|t| t <= now) {
            self.sync(Trigger::Schedule);
            self.next_sync = self.leaderboard.after(&now).next();
        }
        if self.next_backup.is_some_and(|t| t <= now) {
            let done = crate::backup::run(self.syncer.db(), self.syncer.config(), now);
            if let Err(err) = &done {
                tracing::error!(error = %err, "scheduled backup failed");
            }
            // Operator alerts tell a failure, and its end.
            self.syncer.status().write().backup_failure = done.err().map(|e| format!("{e:#}"));
            self.next_backup = self.backups.as_ref().and_then(|s| s.after(&now).next());
        }
        if self.next_housekeeping.is_some_and(|t| t <= now) {
            self.job("housekeeping", Syncer::housekeeping);
            self.next_housekeeping = self.housekeeping.after(&now).next();
        }
    }

    fn until_next(&self) -> Duration {
        let now = self.clock.now();
        [
            self.next_sync,
            self.next_housekeeping,
            self.next_month_end,
            Some(self.next_race_end),
            self.next_backup,
        ]
        .into_iter()
        .flatten()
        .min()
        .and_then(|t| (t - now).to_std().ok())
        .unwrap_or(TICK)
    }

    fn sync(&mut self, trigger: Trigger) -> Option<Report> {
        let started = self.clock.now();
        let result = self.syncer.run(trigger);
        // Races an admin created since the last plan have their end syncs planned now,
        // from when this sync began: one that ran long (an upstream slow with retries
        // at 23:50) must not skip the sync planned for while it ran (23:58), which is
        // then due at once.
        self.next_month_end = self.month_end_after(started);
        self.next_race_end = self.race_end_after(started);
        match result {
            Ok(report) => {
                tracing::info!(
                    trigger = trigger.as_str(),
                    outcome = report.outcome.outcome.as_str(),
                    accepted = report.outcome.accepted,
                    "sync finished"
                );
                Some(report)
            }
            Err(err) => {
                tracing::error!(trigger = trigger.as_str(), error = %err, "sync job failed");
                None
            }
        }
    }

    /// Runs a job; a failure is logged and the loop carries on.
    fn job(&mut self, name: &str, f: impl FnOnce(&mut Syncer) -> crate::db::DbResult<()>) {
        if let Err(err) = f(&mut self.syncer) {
            tracing::error!(job = name, error = %err, "scheduled job failed");
        }
    }
}
