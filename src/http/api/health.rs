use std::sync::Arc;

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use crate::app::AppState;
use crate::http::envelope::Success;
use crate::http::error::ApiResult;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub database_ok: bool,
    /// `live` or `demo` (simulated data).
    pub source: String,
}

pub struct HealthApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: version, uptime, database state, data source.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> ApiResult<Success<Health>> {
        let database_ok = self
            .state
            .db
            .read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
            .is_ok();
        Ok(Success::new(&Health {
            status: if database_ok { "ok" } else { "degraded" }.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.state.started.elapsed().as_secs(),
            database_ok,
            source: self.state.source_name().to_string(),
        }))
    }
}
