//! The monthly race's prizes: what they are, and an admin's override (refused once the
//! race is final; the rule is `races::prizes`).

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::db::audit::Action;
use crate::db::{settle, timestamp};
use crate::domain::RaceId;
use crate::http::api::ApiTags;
use crate::http::api::session::{AuditRow, BearerAuth, admin};
use crate::http::envelope::Success;
use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::http::state::AppState;
use crate::races::prizes::{self, PrizeError};

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RacePrizes {
    pub race_id: String,
    /// Dollars.
    pub prize_pool: f64,
    /// Shares by place, summing to 1.
    pub prize_distribution: Vec<f64>,
    /// True when an admin set these; false for the configured defaults.
    pub overridden: bool,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PrizeOverride {
    #[oai(validator(minimum(value = "0"), maximum(value = "10000000")))]
    pub prize_pool: f64,
    #[oai(validator(min_items = 1, max_items = 100))]
    pub prize_distribution: Vec<f64>,
}

impl From<PrizeError> for ApiError {
    fn from(err: PrizeError) -> Self {
        match err {
            PrizeError::Distribution(message) => ApiError::validation("prizeDistribution", message),
            PrizeError::Final => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, err.to_string())
            }
            PrizeError::Db(err) => ApiError::from(err),
        }
    }
}

pub struct PrizeAdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl PrizeAdminApi {
    /// A race's prize pool and distribution (an override or the defaults).
    #[oai(path = "/races/:race_id/prizes", method = "get")]
    async fn prizes(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceId>,
    ) -> ApiResult<Success<RacePrizes>> {
        let actor = admin(&self.state, &auth).await?;
        let race = race_id.0;
        AuditRow::new(&self.state, req, &actor, Action::RacePrizesGet)
            .target(race.to_string())
            .record(&self.state)
            .await?;
        Ok(Success::new(&self.prizes_view(race).await?))
    }

    /// Overrides a race's prizes. Refused (409) once the race is final.
    #[oai(path = "/races/:race_id/prizes", method = "put")]
    async fn set_prizes(
        &self,
        req: &Request,
        auth: BearerAuth,
        race_id: Path<RaceId>,
        body: Json<PrizeOverride>,
    ) -> ApiResult<Success<RacePrizes>> {
        let actor = admin(&self.state, &auth).await?;
        let race = race_id.0;
        let PrizeOverride {
            prize_pool,
            prize_distribution,
        } = body.0;
        let (now, by) = (timestamp(self.state.clock.now()), actor.label.clone());
        let row = AuditRow::new(&self.state, req, &actor, Action::RacePrizesSet)
            .target(race.to_string())
            .detail(format!(
                "pool {prize_pool}, distribution {prize_distribution:?}"
            ));
        self.state
            .db
            .write(move |tx| {
                let set = prizes::set(tx, race, prize_pool, &prize_distribution, &now, &by);
                if set.is_ok() {
                    row.write(tx)?;
                }
                settle(set)
            })
            .await??;
        self.state.read.invalidate();
        Ok(Success::new(&self.prizes_view(race).await?))
    }
}

impl PrizeAdminApi {
    async fn prizes_view(&self, race: RaceId) -> ApiResult<RacePrizes> {
        let config = self.state.config.race.clone();
        let current = self
            .state
            .db
            .read(move |c| prizes::current(c, &config, race))
            .await?;
        Ok(RacePrizes {
            race_id: race.to_string(),
            prize_pool: current.pool.to_dollars(),
            prize_distribution: current.distribution,
            overridden: current.overridden,
        })
    }
}
