//! The JSON API, described with poem-openapi: one module per resource.

mod health;

use std::sync::Arc;

use poem_openapi::{OpenApiService, Tags};

use crate::app::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and service status.
    Health,
}

pub fn service(state: Arc<AppState>) -> OpenApiService<health::HealthApi, ()> {
    OpenApiService::new(
        health::HealthApi { state },
        "goated",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Live monthly wager races for a Goated.com affiliate. Every JSON answer is an \
             envelope: `{\"status\": \"success\", \"data\": …}` or `{\"status\": \"error\", \
             \"error\": {code, message, details}, \"metadata\": {requestId, timestamp}}`.",
    )
    .url_prefix("/api")
}
