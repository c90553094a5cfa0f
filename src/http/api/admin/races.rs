//! `/api/admin/races` and `/api/admin/race-series`: custom races and weekly series
//! (SPEC §9). The rules are in `races::manage`; this module parses, audits and answers.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::db::audit::Action;
use crate::db::race_defs::{self, Series};
use crate::db::{settle, timestamp};
use crate::domain::ids::RaceKey;
use crate::domain::races::Race;
use crate::http::api::ApiTags;
use crate::http::api::races::Kind;
use crate::http::api::session::{AuditRow, BearerAuth, admin};
use crate::http::api::shapes::{Omittable, money};
use crate::http::envelope::{Created, Success};
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use crate::races::manage::{self, NewRace, NewSeries, RaceEdit, RaceError};

/// A weekly or custom race as defined.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct RaceDefinition {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub prize_pool: f64,
    pub prize_distribution: Vec<f64>,
    pub min_wager: f64,
    /// The weekly series the race belongs to.
    #[oai(skip_serializing_if_is_none)]
    pub series_id: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub cancelled_at: Option<String>,
}

impl From<Race> for RaceDefinition {
    fn from(r: Race) -> Self {
        RaceDefinition {
            kind: r.kind.into(),
            starts_at: timestamp(r.start),
            ends_at: timestamp(r.end),
            prize_pool: money(r.rules.prize_pool),
            prize_distribution: r.rules.distribution,
            min_wager: money(r.rules.min_wager),
            series_id: r.series_id,
            cancelled_at: r.cancelled_at.map(timestamp),
            name: r.name,
            id: r.id,
        }
    }
}

/// A custom race to create.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateRace {
    /// 1–80 characters; the race's id is made from it.
    #[oai(validator(min_length = 1, max_length = 80))]
    pub name: String,
    /// RFC 3339; not in the past.
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// RFC 3339; after `startsAt`, at most 366 days later (exclusive end).
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// Dollars.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub prize_pool: f64,
    /// Shares of the pool by place; must sum to 1.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub prize_distribution: Vec<f64>,
    /// Dollars; a player takes part when their wager in the race is strictly above it.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub min_wager: Omittable<f64>,
}

/// Changes to a race that has not started; fields left out stay as they are.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EditRace {
    #[oai(validator(min_length = 1, max_length = 80))]
    pub name: Omittable<String>,
    pub starts_at: Omittable<chrono::DateTime<chrono::Utc>>,
    pub ends_at: Omittable<chrono::DateTime<chrono::Utc>>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub prize_pool: Omittable<f64>,
    #[oai(validator(min_items = 1, max_items = 100))]
    pub prize_distribution: Omittable<Vec<f64>>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub min_wager: Omittable<f64>,
}

/// A weekly series: a race every week from `startWeekday` at `startHour` (at
/// `race.timezone_offset_minutes`) for seven days.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SeriesInput {
    #[oai(validator(min_length = 1, max_length = 80))]
    pub name: String,
    /// 1 = Monday … 7 = Sunday.
    #[oai(validator(minimum(value = "1"), maximum(value = "7")))]
    pub start_weekday: u32,
    /// 0–23.
    #[oai(validator(maximum(value = "23")))]
    pub start_hour: u32,
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub prize_pool: f64,
    #[oai(validator(min_items = 1, max_items = 100))]
    pub prize_distribution: Vec<f64>,
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub min_wager: Omittable<f64>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SeriesView {
    pub id: i64,
    pub name: String,
    pub start_weekday: u32,
    pub start_hour: u32,
    pub prize_pool: f64,
    pub prize_distribution: Vec<f64>,
    pub min_wager: f64,
    /// False once stopped: no new races.
    pub active: bool,
    /// `demo` for the simulator's own series (removed when live data arrives).
    pub source: String,
}

impl From<Series> for SeriesView {
    fn from(s: Series) -> Self {
        SeriesView {
            id: s.id,
            name: s.name,
            start_weekday: s.weekday,
            start_hour: s.hour,
            prize_pool: money(s.rules.prize_pool),
            prize_distribution: s.rules.distribution,
            min_wager: money(s.rules.min_wager),
            active: s.active,
            source: s.source,
        }
    }
}

/// Every defined race and series, for the admin page.
#[derive(Debug, Clone, Object)]
pub struct RaceDefinitions {
    /// Weekly and custom races, cancelled ones too, by start.
    pub races: Vec<RaceDefinition>,
    pub series: Vec<SeriesView>,
}

impl From<RaceError> for ApiError {
    fn from(e: RaceError) -> Self {
        match e {
            RaceError::Invalid(rule) => ApiError::validation(rule.field, rule.message),
            RaceError::NotFound(message) => ApiError::not_found(message),
            RaceError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
            }
            RaceError::Db(err) => ApiError::from(err),
        }
    }
}

pub struct RaceAdminApi {
    pub state: Arc<AppState>,
}

impl RaceAdminApi {
    /// Runs a change in one transaction with its audit row; a refusal writes nothing.
    async fn change<T: Send + 'static>(
        &self,
        req: &Request,
        auth: &BearerAuth,
        action: Action,
        target: Option<String>,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, RaceError> + Send + 'static,
    ) -> ApiResult<T> {
        let actor = admin(&self.state, auth).await?;
        let mut row = AuditRow::new(&self.state, req, &actor, action);
        if let Some(target) = target {
            row = row.target(target);
        }
        let done = self
            .state
            .db
            .write(move |tx| {
                let done = work(tx);
                if done.is_ok() {
                    row.write(tx)?;
                }
                settle(done)
            })
            .await??;
        self.state.read.invalidate();
        Ok(done)
    }

    fn offset(&self) -> i32 {
        self.state.config.race.timezone_offset_minutes
    }
}

fn new_series(body: SeriesInput) -> NewSeries {
    NewSeries {
        name: body.name,
        start_weekday: body.start_weekday,
        start_hour: body.start_hour,
        prize_pool: body.prize_pool,
        distribution: body.prize_distribution,
        min_wager: body.min_wager.0.unwrap_or(0.0),
    }
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl RaceAdminApi {
    /// Every weekly and custom race (cancelled ones too) and every weekly series.
    #[oai(path = "/races", method = "get")]
    async fn definitions(&self, auth: BearerAuth) -> ApiResult<Success<RaceDefinitions>> {
        admin(&self.state, &auth).await?;
        let (races, series) = self
            .state
            .db
            .read(|c| Ok((race_defs::all(c)?, race_defs::series(c)?)))
            .await?;
        Ok(Success::new(&RaceDefinitions {
            races: races.into_iter().map(Into::into).collect(),
            series: series.into_iter().map(Into::into).collect(),
        }))
    }

    /// Creates a custom race. Its id is made from its name (`[a-z0-9-]{1,40}`).
    #[oai(path = "/races", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<CreateRace>,
    ) -> ApiResult<Created<RaceDefinition>> {
        let body = body.0;
        let new = NewRace {
            name: body.name,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            prize_pool: body.prize_pool,
            distribution: body.prize_distribution,
            min_wager: body.min_wager.0.unwrap_or(0.0),
        };
        let now = self.state.clock.now();
        let race = self
            .change(req, &auth, Action::RaceCreate, None, move |tx| {
                manage::create(tx, new, now)
            })
            .await?;
        tracing::info!(race = %race.id, "custom race created");
        Ok(Created(Success::new(&race.into())))
    }

    /// Edits a weekly or custom race that has not started (409 once it has).
    #[oai(path = "/races/:race_id", method = "patch")]
    async fn edit(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceKey>,
        body: Json<EditRace>,
    ) -> ApiResult<Success<RaceDefinition>> {
        let body = body.0;
        let edit = RaceEdit {
            name: body.name.0,
            starts_at: body.starts_at.0,
            ends_at: body.ends_at.0,
            prize_pool: body.prize_pool.0,
            distribution: body.prize_distribution.0,
            min_wager: body.min_wager.0,
        };
        let (id, now) = (race_id.0.into_string(), self.state.clock.now());
        let race = self
            .change(req, &auth, Action::RaceEdit, Some(id.clone()), move |tx| {
                manage::edit(tx, &id, edit, now)
            })
            .await?;
        Ok(Success::new(&race.into()))
    }

    /// Cancels a weekly or custom race that has not started (409 once it has).
    #[oai(path = "/races/:race_id", method = "delete")]
    async fn cancel(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceKey>,
    ) -> ApiResult<Success<RaceDefinition>> {
        let (id, now) = (race_id.0.into_string(), self.state.clock.now());
        let race = self
            .change(
                req,
                &auth,
                Action::RaceCancel,
                Some(id.clone()),
                move |tx| manage::cancel(tx, &id, now),
            )
            .await?;
        Ok(Success::new(&race.into()))
    }

    /// Starts a weekly series; its first race is the first occurrence from now on.
    #[oai(path = "/race-series", method = "post")]
    async fn create_series(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<SeriesInput>,
    ) -> ApiResult<Created<SeriesView>> {
        let new = new_series(body.0);
        let (offset, now) = (self.offset(), self.state.clock.now());
        let series = self
            .change(req, &auth, Action::SeriesCreate, None, move |tx| {
                manage::create_series(tx, new, offset, now, "live")
            })
            .await?;
        Ok(Created(Success::new(&series.into())))
    }

    /// Changes a series from its next race on; the running race keeps its rules.
    #[oai(path = "/race-series/:series_id", method = "put")]
    async fn edit_series(
        &self,
        req: &Request,
        auth: BearerAuth,
        series_id: Path<i64>,
        body: Json<SeriesInput>,
    ) -> ApiResult<Success<SeriesView>> {
        let new = new_series(body.0);
        let (id, offset, now) = (series_id.0, self.offset(), self.state.clock.now());
        let series = self
            .change(
                req,
                &auth,
                Action::SeriesEdit,
                Some(id.to_string()),
                move |tx| manage::edit_series(tx, id, new, offset, now),
            )
            .await?;
        Ok(Success::new(&series.into()))
    }

    /// Stops a series: races not started are cancelled; a running one ends as planned.
    #[oai(path = "/race-series/:series_id", method = "delete")]
    async fn stop_series(
        &self,
        req: &Request,
        auth: BearerAuth,
        series_id: Path<i64>,
    ) -> ApiResult<Success<SeriesView>> {
        let (id, now) = (series_id.0, self.state.clock.now());
        let series = self
            .change(
                req,
                &auth,
                Action::SeriesStop,
                Some(id.to_string()),
                move |tx| manage::stop_series(tx, id, now),
            )
            .await?;
        Ok(Success::new(&series.into()))
    }
}
