//! The HTTP layer: routes, the JSON API, static pages, and what wraps them all.

pub mod api;
pub mod assets;
pub mod cache;
pub mod envelope;
pub mod error;
pub mod middleware;
pub mod ws;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};

use crate::app::AppState;

/// The whole site: API, its spec and docs, static pages.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    let api = api::service(state.clone());
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .nest("/api", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/ws", ws::connect.data(state))
        .at("/", assets::serve)
        .at("/*path", assets::serve)
        .around(middleware::around)
}
