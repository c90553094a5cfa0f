//! `/api/admin/notifications`: what was sent where, and a test message (SPEC §11).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{Object, OpenApi};

use crate::db::audit::Action;
use crate::db::notifications::{self, Delivery};
use crate::http::api::ApiTags;
use crate::http::api::session::{BearerAuth, admin, audit};
use crate::http::envelope::Success;
use crate::http::error::ApiResult;
use crate::http::state::AppState;

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: i64,
    /// `discord-1`, …, or `telegram`.
    pub destination: String,
    /// `race_started`, `new_leader`, `final_day`, `results` or `test`.
    pub kind: String,
    #[oai(skip_serializing_if_is_none)]
    pub race_id: Option<String>,
    pub text: String,
    /// `pending` (waiting or to be retried), `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    #[oai(skip_serializing_if_is_none)]
    pub http_status: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub created_at: String,
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id,
            destination: d.destination,
            kind: d.kind,
            race_id: d.race_id,
            text: d.text,
            status: d.status,
            attempts: d.attempts,
            http_status: d.http_status,
            last_error: d.last_error,
            created_at: d.created_at,
            sent_at: d.sent_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DestinationView {
    pub id: String,
    pub paused: bool,
    #[oai(skip_serializing_if_is_none)]
    pub paused_reason: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct NotificationLog {
    /// Every configured destination (none: notifications are off).
    pub destinations: Vec<DestinationView>,
    /// The latest deliveries, newest first.
    pub recent: Vec<DeliveryView>,
}

#[derive(Debug, Clone, Object)]
pub struct TestQueued {
    /// How many destinations the test message was queued for.
    pub queued: u32,
}

fn default_recent() -> u32 {
    50
}

pub struct NotifyAdminApi {
    pub state: Arc<AppState>,
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl NotifyAdminApi {
    /// The configured destinations (paused or not) and the latest deliveries.
    #[oai(path = "/notifications", method = "get")]
    async fn log(
        &self,
        auth: BearerAuth,
        #[oai(
            default = "default_recent",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Success<NotificationLog>> {
        admin(&self.state, &auth).await?;
        let limit = limit.0;
        let (recent, paused) = self
            .state
            .db
            .read(move |c| Ok((notifications::recent(c, limit)?, notifications::paused(c)?)))
            .await?;
        let destinations = crate::notify::destinations(&self.state.config)
            .iter()
            .map(|d| {
                let reason = paused
                    .iter()
                    .find(|(id, _, _)| id == d.id())
                    .map(|(_, _, r)| r.clone());
                DestinationView {
                    id: d.id().to_string(),
                    paused: reason.is_some(),
                    paused_reason: reason,
                }
            })
            .collect();
        Ok(Success::new(&NotificationLog {
            destinations,
            recent: recent.into_iter().map(Into::into).collect(),
        }))
    }

    /// Queues a test message for every destination, and resumes the paused ones (after
    /// the cause was fixed). 0 when notifications are off.
    #[oai(path = "/notifications/test", method = "post")]
    async fn test(&self, req: &Request, auth: BearerAuth) -> ApiResult<Success<TestQueued>> {
        let actor = admin(&self.state, &auth).await?;
        audit(&self.state, req, &actor, Action::NotificationsTest).await?;
        let queued =
            crate::notify::send_test(&self.state.db, &self.state.config, self.state.clock.now())
                .await?;
        Ok(Success::new(&TestQueued {
            queued: queued as u32,
        }))
    }
}
