//! The JSON API, described with poem-openapi: one module per resource.

mod admin;
mod affiliate;
mod auth;
mod health;
mod payouts;
mod races;
mod session;
mod setup;
pub mod shapes;
mod users;
pub mod values;
mod verification;

// What the fast lane (`middleware::HotReads`) answers with, as the routes do.
pub use affiliate::{leaderboard_page_hit, leaderboard_page_made, plain_leaderboard_query};
pub use races::{current_race, current_race_hit};

use std::sync::Arc;

use poem_openapi::{OpenApiService, Tags};

use crate::http::state::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and service status.
    Health,
    /// Wager races of every kind: live standings, finished results, schedule, proofs.
    Races,
    /// The affiliate program: totals and leaderboards by period.
    Affiliate,
    /// Players by Goated uid: search, profiles, statistics, profile editing.
    Users,
    /// Site accounts: register, sign in, refresh, sign out.
    Auth,
    /// Proving an account is a Goated player.
    Verification,
    /// Operating the site: only from allowed addresses, only for admins.
    Admin,
}

type Apis = (
    health::HealthApi,
    races::RacesApi,
    races::RaceListApi,
    admin::races::RaceAdminApi,
    admin::notifications::NotifyAdminApi,
    affiliate::AffiliateApi,
    users::UsersApi,
    auth::AuthApi,
    verification::VerificationApi,
    admin::operations::AdminApi,
    admin::upstream::UpstreamAdminApi,
    admin::prizes::PrizeAdminApi,
    admin::analytics::AnalyticsAdminApi,
    payouts::PayoutsApi,
    setup::SetupApi,
);

pub fn service(state: Arc<AppState>) -> OpenApiService<Apis, ()> {
    let apis = (
        health::HealthApi {
            state: state.clone(),
        },
        races::RacesApi {
            state: state.clone(),
        },
        races::RaceListApi {
            state: state.clone(),
        },
        admin::races::RaceAdminApi {
            state: state.clone(),
        },
        admin::notifications::NotifyAdminApi {
            state: state.clone(),
        },
        affiliate::AffiliateApi {
            state: state.clone(),
        },
        users::UsersApi {
            state: state.clone(),
        },
        auth::AuthApi {
            state: state.clone(),
        },
        verification::VerificationApi {
            state: state.clone(),
        },
        admin::operations::AdminApi {
            state: state.clone(),
        },
        admin::upstream::UpstreamAdminApi {
            state: state.clone(),
        },
        admin::prizes::PrizeAdminApi {
            state: state.clone(),
        },
        admin::analytics::AnalyticsAdminApi {
            state: state.clone(),
        },
        payouts::PayoutsApi {
            state: state.clone(),
        },
        setup::SetupApi { state },
    );
    OpenApiService::new(apis, "goated", env!("CARGO_PKG_VERSION"))
        .description(
            "Live monthly wager races for a Goated.com affiliate. Every JSON answer is an \
             envelope: `{\"status\": \"success\", \"data\": …}` or `{\"status\": \"error\", \
             \"error\": {code, message, details}, \"metadata\": {requestId, timestamp}}`. \
             Data derived from syncs says how fresh it is (`lastSyncedAt`, `stale`, `source`). \
             Public GETs carry `ETag` and `Cache-Control` and answer `If-None-Match` with 304.",
        )
        .url_prefix("/api")
}
