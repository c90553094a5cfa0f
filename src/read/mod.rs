//! The read side: what the public API shows, computed from SQLite once per data version
//! and kept in memory. Handlers ask here; nothing here knows about HTTP.

pub mod masking;
pub mod races;
pub mod rankings;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Db, DbResult};
use crate::domain::RaceId;
use crate::domain::calendar::Calendar;
use crate::status::SharedStatus;

pub use races::RaceView;
pub use rankings::{Period, Rankings};

pub struct ReadModel {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub sync: SharedStatus,
    rankings: tokio::sync::Mutex<Option<Arc<Rankings>>>,
    current_race: tokio::sync::Mutex<Option<Arc<RaceView>>>,
    /// Bumped when something other than a sync changes what is shown (a prize override,
    /// a cache flush), so versioned caches recompute.
    generation: AtomicU64,
}

/// Identifies the data an answer was computed from. Answers are cached under it, so a
/// new sync, a race changing status, or data turning stale all make new answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVersion {
    pub sync_run: i64,
    pub stale: bool,
    pub generation: u64,
}

impl std::fmt::Display for DataVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.sync_run,
            u8::from(self.stale),
            self.generation
        )
    }
}

impl ReadModel {
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>, sync: SharedStatus) -> Self {
        ReadModel {
            db,
            config,
            clock,
            sync,
            rankings: tokio::sync::Mutex::new(None),
            current_race: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn calendar(&self) -> Calendar {
        crate::races::calendar(&self.config.race)
    }

    pub fn current_race_id(&self) -> RaceId {
        self.calendar().race_at(self.now())
    }

    pub fn version(&self) -> DataVersion {
        self.version_at(self.now())
    }

    /// The data version and the month running, from one reading of the clock: the
    /// hottest read needs both, and asks for them on every request.
    pub fn version_and_race(&self) -> (DataVersion, RaceId) {
        let now = self.now();
        (self.version_at(now), self.calendar().race_at(now))
    }

    fn version_at(&self, now: DateTime<Utc>) -> DataVersion {
        let sync = self.sync.read();
        DataVersion {
            sync_run: sync.data_version(),
            stale: sync.is_stale(now),
            generation: self.generation.load(Ordering::Relaxed),
        }
    }

    /// Makes every versioned answer recompute (an admin changed something, or flushed).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Players ranked in every period, as of the last good sync.
    pub async fn rankings(&self) -> DbResult<Arc<Rankings>> {
        let version = self.version();
        let masking = self.config.race.name_masking;
        let mut cached = self.rankings.lock().await;
        if let Some(r) = cached
            .as_ref()
            .filter(|r| r.version == (version.sync_run, version.generation))
        {
            return Ok(r.clone());
        }
        let fresh = Arc::new(
            self.db
                .read(move |c| {
                    let masker = masking::Masker::load(c, masking)?;
                    rankings::load(c, (version.sync_run, version.generation), &masker)
                })
                .await?,
        );
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// The live race (the month now running) with its standings as of the last good sync.
    pub async fn current_race(&self) -> DbResult<Arc<RaceView>> {
        let race = self.current_race_id();
        let version = self.version();
        let mut cached = self.current_race.lock().await;
        if let Some(view) = cached
            .as_ref()
            .filter(|v| v.id == race.to_string() && v.version == version)
        {
            return Ok(view.clone());
        }
        let config = self.config.race.clone();
        let v = version.clone();
        let view = self
            .db
            .read(move |c| {
                let monthly = crate::races::monthly(c, &config, race)?;
                races::live(c, &monthly, config.transition_hours, config.name_masking, v)
            })
            .await?;
        let view = Arc::new(view);
        *cached = Some(view.clone());
        Ok(view)
    }

    /// A finished race's stored result.
    pub async fn final_race(&self, race: &str) -> DbResult<Option<RaceView>> {
        let (id, hours) = (race.to_string(), self.config.race.transition_hours);
        let masking = self.config.race.name_masking;
        let version = self.version();
        self.db
            .read(move |c| races::stored(c, &id, hours, masking, version))
            .await
    }

    /// Any race that is not the current month: its stored result once final, else (a
    /// weekly or custom race, a month to come) its standings so far. `None` for an
    /// unknown id, a cancelled race, and a past month with no result.
    pub async fn other_race(&self, race: &str) -> DbResult<Option<RaceView>> {
        let (id, config) = (race.to_string(), self.config.race.clone());
        let (version, now) = (self.version(), self.now());
        self.db
            .read(move |c| {
                let (hours, masking) = (config.transition_hours, config.name_masking);
                if let Some(view) = races::stored(c, &id, hours, masking, version.clone())? {
                    return Ok(Some(view));
                }
                if let Some(month) = RaceId::parse(&id) {
                    // A month still to come is shown (upcoming, no one yet); a past month
                    // without a result has nothing to show.
                    if month <= crate::races::calendar(&config).race_at(now) {
                        return Ok(None);
                    }
                    let race = crate::races::monthly(c, &config, month)?;
                    return races::live(c, &race, hours, masking, version).map(Some);
                }
                match crate::db::race_defs::get(c, &id)? {
                    Some(def) if def.cancelled_at.is_none() => {
                        races::live(c, &def, hours, masking, version).map(Some)
                    }
                    _ => Ok(None),
                }
            })
            .await
    }
}
