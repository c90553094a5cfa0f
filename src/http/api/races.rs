//! `/api/wager-races/*`: the live race, finished races, the schedule.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::shapes::{
    Pagination, cache_control, cache_control_final, default_page, money, paginated, prepare,
    sync_metadata, ttl,
};
use crate::db::{proofs, races as db_races, timestamp};
use crate::domain::ids::RaceKey;
use crate::domain::races::RaceKind;
use crate::domain::{RaceId, RaceStatus};
use crate::http::cache::Prepared;
use crate::http::envelope::{Success, envelope_bytes};
use crate::http::error::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::read::masking::Masker;
use crate::read::races::{Headline, live, stored_headline};
use crate::read::{DataVersion, RaceView};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Status {
    Upcoming,
    Live,
    Transition,
    Completed,
}

impl From<RaceStatus> for Status {
    fn from(s: RaceStatus) -> Self {
        match s {
            RaceStatus::Upcoming => Status::Upcoming,
            RaceStatus::Live => Status::Live,
            RaceStatus::Transition => Status::Transition,
            RaceStatus::Completed => Status::Completed,
        }
    }
}

/// One place in a race.
#[derive(Debug, Clone, Object)]
pub struct Participant {
    /// The Goated uid.
    pub uid: String,
    pub name: String,
    /// Wagered this race, in dollars (to the cent).
    pub wagered: f64,
    /// Ties share a position (1, 2, 2, 4).
    pub position: u32,
    /// Dollars; tied players share the prizes of the places they occupy.
    pub prize: f64,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RaceMetadata {
    /// When the results stop being "in transition".
    pub transition_ends: String,
    pub next_race_starts: String,
    /// Shares of the prize pool by place.
    pub prize_distribution: Vec<f64>,
    /// When the sync whose data this is started; null before the first.
    #[oai(skip_serializing_if_is_none)]
    pub last_synced_at: Option<String>,
    pub stale: bool,
    /// `live`, or `demo` for simulated data.
    pub source: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase", example)]
pub struct Race {
    /// `YYYYMM` for the monthly race, `YYYY-wWW` for a weekly one, a custom race's own id.
    pub id: String,
    /// `monthly`, `weekly` or `custom`.
    pub kind: Kind,
    /// "November 2026", or the name an admin gave the race.
    pub name: String,
    pub status: Status,
    /// The first instant of the month (inclusive).
    pub start_date: String,
    /// The first instant of the next month (exclusive).
    pub end_date: String,
    pub prize_pool: f64,
    /// Best first; at most `limit` of them.
    pub participants: Vec<Participant>,
    pub total_wagered: f64,
    /// All participants, however many are listed.
    pub participant_count: u32,
    /// When wagers are counted from, if later than `startDate`: no upstream answer was
    /// received before the race started (a first install), so earlier wagers are unknown.
    #[oai(skip_serializing_if_is_none)]
    pub tracked_from: Option<String>,
    pub metadata: RaceMetadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Kind {
    Monthly,
    Weekly,
    Custom,
}

impl From<RaceKind> for Kind {
    fn from(k: RaceKind) -> Self {
        match k {
            RaceKind::Monthly => Kind::Monthly,
            RaceKind::Weekly => Kind::Weekly,
            RaceKind::Custom => Kind::Custom,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ScheduledRace {
    pub id: String,
    pub start_date: String,
    pub end_date: String,
    pub prize_pool: f64,
    pub prize_distribution: Vec<f64>,
    pub status: Status,
}

/// A finished race in the history list, with its podium.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RaceSummary {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub status: Status,
    pub start_date: String,
    pub end_date: String,
    pub prize_pool: f64,
    pub total_wagered: f64,
    pub participant_count: u32,
    /// The top three places (more when tied); for a race not final yet, as it stands.
    pub winners: Vec<Participant>,
}

paginated!(RaceHistoryPage, RaceSummary);

/// What fixes a finished race's standings (SPEC §12). To check it by hand:
/// `curl -s …/proof | jq -j .data.text | sha256sum` prints `digest`, and the lines of
/// `text` are the race's participants as `/api/wager-races/{race_id}` lists them.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RaceProof {
    pub race_id: String,
    /// Lowercase hex SHA-256 of the UTF-8 bytes of `text`.
    pub digest: String,
    /// The digest of the race finalized just before (64 zeros for the first).
    pub previous: String,
    /// `goated-race-proof v1`, `race ID`, `window START END`, `prize_pool_cents N`,
    /// `previous HEX`, then `POSITION UID WAGERED_CENTS PRIZE_CENTS` per participant
    /// in listed order; every line ends in a newline.
    pub text: String,
}

/// A race's participants as a spreadsheet.
#[derive(ApiResponse)]
pub enum CsvExport {
    /// Every participant: `position,uid,name,wagered,prize` (dollars with cents), RFC
    /// 4180 quoting, UTF-8. A name that a spreadsheet would read as a formula (it starts
    /// with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// `position,uid,name,wagered,prize`, one line per participant.
pub fn csv(standings: &[crate::domain::ranking::Standing]) -> String {
    fn field(text: &str) -> String {
        let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{text}")
        } else {
            text.to_string()
        };
        if defused.contains([',', '"', '\n', '\r']) || defused.trim() != defused {
            format!("\"{}\"", defused.replace('"', "\"\""))
        } else {
            defused
        }
    }
    let dollars = |c: crate::domain::Cents| format!("{}.{:02}", c.0 / 100, (c.0 % 100).abs());
    let mut out = String::from("position,uid,name,wagered,prize\r\n");
    for s in standings {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            s.position,
            field(&s.uid),
            field(&s.name),
            dollars(s.wagered),
            dollars(s.prize)
        ));
    }
    out
}

impl poem_openapi::types::Example for Race {
    fn example() -> Self {
        let p = |uid: &str, name: &str, wagered, position, prize| Participant {
            uid: uid.into(),
            name: name.into(),
            wagered,
            position,
            prize,
        };
        Race {
            id: "202611".into(),
            kind: Kind::Monthly,
            name: "November 2026".into(),
            status: Status::Live,
            start_date: "2026-11-01T00:00:00.000Z".into(),
            end_date: "2026-12-01T00:00:00.000Z".into(),
            prize_pool: 500.0,
            participants: vec![
                p("k3Jd8QpL2vXr9TzA1bCe", "LuckyGoat77", 9731.6, 1, 250.0),
                p("mN5bV7cX9zL1kJ3hG5fD", "Quietone", 5120.0, 2, 100.0),
                p("a8Hn2LkQ0pWx7RtY4uIo", "WildWhale12", 5120.0, 2, 100.0),
            ],
            total_wagered: 19971.6,
            participant_count: 3,
            tracked_from: None,
            metadata: RaceMetadata {
                transition_ends: "2026-12-02T00:00:00.000Z".into(),
                next_race_starts: "2026-12-01T00:00:00.000Z".into(),
                prize_distribution: vec![0.5, 0.3, 0.1, 0.05, 0.05],
                last_synced_at: Some("2026-11-23T10:00:00.000Z".into()),
                stale: false,
                source: "live".into(),
            },
        }
    }
}

const MAX_PARTICIPANTS: u32 = 1000;
const SCHEDULED_RACES: usize = 3;

fn default_participants() -> u32 {
    100
}

fn default_history_limit() -> u32 {
    12
}

pub struct RacesApi {
    pub state: Arc<AppState>,
}

/// Which races `GET /api/wager-races` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ListStatus {
    Upcoming,
    Live,
    /// Ended: in transition or completed.
    Finished,
}

paginated!(RaceListPage, RaceSummary);

pub struct RaceListApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Races")]
impl RaceListApi {
    /// Every race of every kind (monthly, weekly, custom): live ones first (the soonest
    /// to end first), then upcoming ones (the soonest to start first), then finished
    /// ones (the latest to end first). Cancelled races are not listed.
    #[oai(path = "/wager-races", method = "get")]
    async fn list(
        &self,
        req: &Request,
        /// Only races in this state.
        status: Query<Option<ListStatus>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_history_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<RaceListPage>> {
        let (filter, page, limit) = (status.0, page.0, limit.0);
        let state = self.state.clone();
        let version = state.read.version();
        let now = state.clock.now();
        // Statuses move with the clock as well as with the data: made again with each
        // new data version, and at most once a minute within one.
        let key = format!(
            "races:list:{filter:?}:{page}:{limit}@{version}:{}",
            now.timestamp() / 60
        );
        let v = version.clone();
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let config = state.config.race.clone();
                let mut rows = state
                    .db
                    .read(move |c| {
                        let hours = config.transition_hours;
                        let masker = Masker::load(c, config.name_masking)?;
                        let (finished, open) = crate::races::catalog(c, &config, now)?;
                        let mut rows = Vec::new();
                        for id in &finished {
                            rows.extend(stored_headline(c, id, hours, &masker)?);
                        }
                        for race in &open {
                            let view = live(c, race, hours, config.name_masking, v.clone())?;
                            rows.push(Headline::of(&view));
                        }
                        Ok(rows)
                    })
                    .await?;
                let group = |h: &Headline| match h.status(now) {
                    RaceStatus::Live => ListStatus::Live,
                    RaceStatus::Upcoming => ListStatus::Upcoming,
                    RaceStatus::Transition | RaceStatus::Completed => ListStatus::Finished,
                };
                rows.retain(|h| filter.is_none_or(|f| group(h) == f));
                rows.sort_by(|a, b| {
                    let rank = |h: &Headline| match group(h) {
                        ListStatus::Live => (0, h.end.timestamp()),
                        ListStatus::Upcoming => (1, h.start.timestamp()),
                        ListStatus::Finished => (2, -h.end.timestamp()),
                    };
                    rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id))
                });
                let pagination = Pagination::new(page, limit, rows.len());
                let results = rows[pagination.range()]
                    .iter()
                    .map(|h| summary(h, now))
                    .collect();
                Ok(prepare(&RaceListPage {
                    results,
                    pagination,
                }))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control(&version)))
    }
}

fn summary(race: &Headline, now: chrono::DateTime<chrono::Utc>) -> RaceSummary {
    RaceSummary {
        id: race.id.clone(),
        kind: race.kind.into(),
        name: race.name.clone(),
        status: race.status(now).into(),
        start_date: timestamp(race.start),
        end_date: timestamp(race.end),
        prize_pool: money(race.prize_pool),
        total_wagered: money(race.total_wagered),
        participant_count: race.participant_count as u32,
        winners: race.podium.iter().map(participant).collect(),
    }
}

/// The live race's answer, as `GET /api/wager-races/current?limit=…` gives it.
async fn live_race(state: &Arc<AppState>, req: &Request, limit: u32) -> ApiResult<Success<Race>> {
    let (version, race) = state.read.version_and_race();
    let prepared = live_prepared(state, &version, race, limit).await?;
    Ok(Success::prepared(&prepared, req, cache_control(&version)))
}

async fn live_prepared(
    state: &Arc<AppState>,
    version: &DataVersion,
    race: RaceId,
    limit: u32,
) -> ApiResult<Arc<Prepared>> {
    let key = format!("race:{race}@{version}:{limit}");
    let maker = state.clone();
    state
        .responses
        .get_or_make(key, ttl(version), move || async move {
            let view = maker.read.current_race().await?;
            Ok(render(&maker, &view, limit))
        })
        .await
}

/// `GET /api/wager-races/current` with its defaults, for the fast lane in front of the
/// router (`middleware::HotReads`): the same answer the route gives, found in the
/// answer cache's hot slot while the data version, the month and the entry's age allow.
/// The fast lane asks [`current_race_hit`] first; this is its miss, which makes the
/// answer through the cache and leaves it in the hot slot.
pub async fn current_race(state: &Arc<AppState>, req: &Request) -> ApiResult<Success<Race>> {
    let (version, race) = state.read.version_and_race();
    let made = live_prepared(state, &version, race, default_participants()).await?;
    state
        .responses
        .hot
        .put(current_hot_key(&version, race), made.clone());
    Ok(Success::prepared(&made, req, cache_control(&version)))
}

/// The live race from the hot slot, when it holds the answer for this month and data
/// version: no await, so the fast lane answers a hit without building a future for it
/// (a future would be moved through every layer above; see `http::middleware::hot`).
pub fn current_race_hit(state: &AppState, req: &Request) -> Option<Success<Race>> {
    let (version, race) = state.read.version_and_race();
    let responses = &state.responses;
    let prepared = responses.hot.get(
        &current_hot_key(&version, race),
        ttl(&version),
        &responses.stats,
    )?;
    Some(Success::prepared(&prepared, req, cache_control(&version)))
}

fn current_hot_key(version: &DataVersion, race: RaceId) -> crate::http::cache::HotKey {
    let month = i64::from(race.year) * 100 + i64::from(race.month);
    crate::http::cache::hot_key(version, [month, 0, 0])
}

#[OpenApi(prefix_path = "/wager-races", tag = "ApiTags::Races")]
impl RacesApi {
    /// The live race: this month's standings as of the last good sync, with prizes.
    #[oai(path = "/current", method = "get")]
    async fn current(
        &self,
        req: &Request,
        /// How many participants to list (1–1000).
        #[oai(
            default = "default_participants",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<Race>> {
        live_race(&self.state, req, limit.0).await
    }

    /// The final results of the last finished race (`transition` for `race.transition_hours`
    /// after it ends, then `completed`). 404 until a race has finished with data.
    #[oai(path = "/previous", method = "get")]
    async fn previous(
        &self,
        req: &Request,
        /// How many participants to list (1–1000).
        #[oai(
            default = "default_participants",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<Race>> {
        let race = self.state.read.current_race_id().previous();
        self.final_race(req, race, limit.0).await
    }

    /// The next races (at least three), with their prize pools.
    #[oai(path = "/schedule", method = "get")]
    async fn schedule(&self) -> ApiResult<Success<Vec<ScheduledRace>>> {
        let read = &self.state.read;
        let calendar = read.calendar();
        let mut race = read.current_race_id();
        let mut ids = Vec::new();
        for _ in 0..SCHEDULED_RACES {
            race = race.next();
            ids.push(race);
        }
        let race_config = self.state.config.race.clone();
        let prizes = self
            .state
            .db
            .read(move |c| {
                ids.into_iter()
                    .map(|id| {
                        crate::races::monthly_rules(c, &race_config, &id.to_string())
                            .map(|r| (id, r))
                    })
                    .collect::<crate::db::DbResult<Vec<_>>>()
            })
            .await?;
        let races = prizes
            .into_iter()
            .map(|(id, rules)| ScheduledRace {
                id: id.to_string(),
                start_date: timestamp(calendar.start(id)),
                end_date: timestamp(calendar.end(id)),
                prize_pool: money(rules.prize_pool),
                prize_distribution: rules.distribution,
                status: Status::Upcoming,
            })
            .collect();
        Ok(Success::new(&races))
    }

    /// Finished races, newest first, each with its podium.
    #[oai(path = "/history", method = "get")]
    async fn history(
        &self,
        req: &Request,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_history_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<RaceHistoryPage>> {
        let (page, limit) = (page.0, limit.0);
        let config = self.state.config.race.clone();
        let now = self.state.clock.now();
        let (total, rows) = self
            .state
            .db
            .read(move |c| {
                let ids = db_races::final_race_ids(c)?;
                let pagination = Pagination::new(page, limit, ids.len());
                let masker = Masker::load(c, config.name_masking)?;
                let mut rows = Vec::new();
                for id in &ids[pagination.range()] {
                    rows.extend(stored_headline(c, id, config.transition_hours, &masker)?);
                }
                Ok((ids.len(), rows))
            })
            .await?;
        let results = rows.iter().map(|h| summary(h, now)).collect();
        let data = RaceHistoryPage {
            results,
            pagination: Pagination::new(page, limit, total),
        };
        let prepared = prepare(&data);
        Ok(Success::prepared(&prepared, req, cache_control_final()))
    }

    /// One race by id: the live race, or a finished race's stored result.
    #[oai(path = "/:race_id", method = "get")]
    async fn by_id(
        &self,
        req: &Request,
        /// `YYYYMM` for a monthly race, `YYYY-wWW` for a weekly one, or a custom race's id.
        race_id: Path<RaceKey>,
        /// How many participants to list (1–1000).
        #[oai(
            default = "default_participants",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<Race>> {
        let id = race_id.0.into_string();
        if id == self.state.read.current_race_id().to_string() {
            return live_race(&self.state, req, limit.0).await;
        }
        match RaceId::parse(&id) {
            Some(month) if month < self.state.read.current_race_id() => {
                self.final_race(req, month, limit.0).await
            }
            _ => self.defined_race(req, id, limit.0).await,
        }
    }

    /// The proof that fixes a finished race's standings: its text, the SHA-256 of the
    /// text, and the digest of the race finalized before it. 404 before the race is
    /// final. `goated verify-races` re-checks every race and the chain.
    #[oai(path = "/:race_id/proof", method = "get")]
    async fn proof(
        &self,
        req: &Request,
        /// `YYYYMM` for a monthly race, `YYYY-wWW` for a weekly one, or a custom race's id.
        race_id: Path<RaceKey>,
    ) -> ApiResult<Success<RaceProof>> {
        let id = race_id.0.into_string();
        // Rebuilt from the stored standings at most once per data generation (a sync,
        // a flush), like a finished race's answer: a changed standing shows by then.
        let version = self.state.read.version();
        let key = format!("proof:{id}@{}", version.generation);
        let state = self.state.clone();
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let race = id.clone();
                let found = state
                    .db
                    .read(move |c| {
                        let Some(row) = proofs::get(c, &race)? else {
                            return Ok(None);
                        };
                        let text = proofs::text_of(c, &race, &row.previous)?;
                        Ok(text.map(|text| (row, text)))
                    })
                    .await?;
                let (row, text) = found.ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Race {id} has no proof: proofs are made when a race is finalized."
                    ))
                })?;
                Ok(prepare(&RaceProof {
                    race_id: row.race_id,
                    digest: row.digest,
                    previous: row.previous,
                    text,
                }))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control_final()))
    }

    /// Every participant of a race (the live one, or a finished one's final result) as
    /// CSV, for spreadsheets and payout records.
    #[oai(path = "/:race_id/export.csv", method = "get")]
    async fn export_csv(
        &self,
        /// `YYYYMM` for a monthly race, `YYYY-wWW` for a weekly one, or a custom race's id.
        race_id: Path<RaceKey>,
    ) -> ApiResult<CsvExport> {
        let race = race_id.0.into_string();
        let view = self.view(&race).await?;
        Ok(CsvExport::Ok(
            PlainText(csv(&view.standings)),
            format!("attachment; filename=\"race-{race}.csv\""),
        ))
    }

    /// Every participant of a race as JSON: the race's usual shape with no limit on
    /// `participants`.
    #[oai(path = "/:race_id/export.json", method = "get")]
    async fn export_json(
        &self,
        /// `YYYYMM` for a monthly race, `YYYY-wWW` for a weekly one, or a custom race's id.
        race_id: Path<RaceKey>,
    ) -> ApiResult<Success<Race>> {
        let race = race_id.0.into_string();
        let view = self.view(&race).await?;
        let answer = race_of(&self.state, &view, usize::MAX);
        let disposition = format!("attachment; filename=\"race-{race}.json\"");
        Ok(Success::new(&answer).with_header(
            poem::http::header::CONTENT_DISPOSITION,
            poem::http::HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
        ))
    }
}

impl RacesApi {
    /// The current month's race, a finished race's stored result, or a weekly or custom
    /// race as it stands.
    async fn view(&self, race: &str) -> ApiResult<Arc<RaceView>> {
        if race == self.state.read.current_race_id().to_string() {
            return Ok(self.state.read.current_race().await?);
        }
        self.state
            .read
            .other_race(race)
            .await?
            .map(Arc::new)
            .ok_or_else(|| no_race(race))
    }

    /// A weekly or custom race: its stored result once final, else its standings as of
    /// the last good sync.
    async fn defined_race(
        &self,
        req: &Request,
        id: String,
        limit: u32,
    ) -> ApiResult<Success<Race>> {
        let state = self.state.clone();
        let version = state.read.version();
        let key = format!("race:{id}@{version}:{limit}");
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let view = state.read.other_race(&id).await?;
                let view = view.ok_or_else(|| no_race(&id))?;
                Ok(render(&state, &view, limit))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control(&version)))
    }

    async fn final_race(
        &self,
        req: &Request,
        race: RaceId,
        limit: u32,
    ) -> ApiResult<Success<Race>> {
        let state = self.state.clone();
        let status = state.read.calendar().status(race, state.clock.now());
        let version = state.read.version();
        let key = format!(
            "race:{race}:final:{}@{}:{limit}",
            status.as_str(),
            version.generation
        );
        let prepared = self
            .state
            .responses
            .get_or_make(key, ttl(&version), move || async move {
                let view = state.read.final_race(&race.to_string()).await?;
                let view = view.ok_or_else(|| {
                    ApiError::not_found(format!("Race {race} has no final result."))
                })?;
                Ok(render(&state, &view, limit))
            })
            .await?;
        Ok(Success::prepared(&prepared, req, cache_control_final()))
    }
}

fn no_race(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Race {id} has no result: it is unknown, cancelled, or a month that is neither current nor finished."
    ))
}

fn participant(s: &crate::domain::ranking::Standing) -> Participant {
    Participant {
        uid: s.uid.clone(),
        name: s.name.clone(),
        wagered: money(s.wagered),
        position: s.position,
        prize: money(s.prize),
    }
}

/// The race as an answer; its ETag ignores when the data was synced.
fn render(state: &AppState, view: &RaceView, limit: u32) -> Prepared {
    let mut race = race_of(state, view, limit.min(MAX_PARTICIPANTS) as usize);
    let synced_at = race.metadata.last_synced_at.take();
    let identity = envelope_bytes(&race, None);
    race.metadata.last_synced_at = synced_at;
    Prepared::new(envelope_bytes(&race, None), &identity)
}

/// The race with at most `limit` participants.
fn race_of(state: &AppState, view: &RaceView, limit: usize) -> Race {
    let meta = sync_metadata(state);
    Race {
        id: view.id.clone(),
        kind: view.kind.into(),
        name: view.name.clone(),
        tracked_from: view.tracked_from.clone(),
        status: view.status(state.clock.now()).into(),
        start_date: timestamp(view.start),
        end_date: timestamp(view.end),
        prize_pool: money(view.prize_pool),
        participants: view.standings.iter().take(limit).map(participant).collect(),
        total_wagered: money(view.total_wagered),
        participant_count: view.standings.len() as u32,
        metadata: RaceMetadata {
            transition_ends: timestamp(view.transition_end),
            next_race_starts: timestamp(view.end),
            prize_distribution: view.distribution.clone(),
            last_synced_at: if view.is_final {
                view.synced_at.clone()
            } else {
                meta.last_synced_at
            },
            stale: !view.is_final && meta.stale,
            source: meta.source,
        },
    }
}
