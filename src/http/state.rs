//! What every handler can reach: the service's parts, assembled by `app` and shared by
//! the HTTP layer. It lives here, not in `app`, so that the HTTP layer never imports the
//! entry point that builds it.

use std::sync::Arc;
use std::time::Instant;

use crate::analytics::Recorder;
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::events::Events;
use crate::read::ReadModel;
use crate::scheduler::Scheduler;
use crate::status::SharedStatus;
use crate::upstream::token::TokenStore;

use super::cache::ResponseCache;
use super::ws::Feed;

/// What every handler can reach.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub started: Instant,
    pub sync: SharedStatus,
    pub scheduler: Scheduler,
    pub tokens: TokenStore,
    pub events: Events,
    pub read: Arc<ReadModel>,
    pub responses: Arc<ResponseCache>,
    pub feed: Arc<Feed>,
    pub auth: Arc<Auth>,
    /// Usage analytics; `None` when `analytics.enabled` is off.
    pub analytics: Option<Arc<Recorder>>,
    /// First-run setup's one-time code, while no admin exists (SPEC §14); new at each
    /// start, gone once the first admin is made.
    pub setup_code: parking_lot::Mutex<Option<String>>,
    /// The limit of upstream requests the syncs obey, for checking a new token.
    pub upstream_limiter: Arc<crate::upstream::ratelimit::RateLimiter>,
}

impl AppState {
    pub fn source_name(&self) -> &'static str {
        self.sync.read().source.as_str()
    }

    /// Writes the counted requests to the database now.
    pub async fn flush_analytics(&self) -> crate::db::DbResult<()> {
        match &self.analytics {
            Some(recorder) => {
                let caches = [(self.responses.name(), &self.responses.stats)];
                recorder
                    .flush(&self.db, self.clock.now().timestamp(), &caches)
                    .await
            }
            None => Ok(()),
        }
    }
}
