//! The HTTP layer: routes, the JSON API, static pages, and what wraps them all.

pub mod api;
pub mod assets;
pub mod cache;
pub mod client;
pub mod compress;
pub mod deadline;
pub mod docs;
pub mod envelope;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod server;
pub mod state;
pub mod tls;
pub mod workers;
pub mod ws;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};

use crate::http::state::AppState;

/// The whole site: API, its spec and docs, static pages.
pub fn routes(state: Arc<AppState>) -> impl Endpoint<Output = poem::Response> {
    let config = &state.config;
    let trusted: Arc<[ipnet::IpNet]> = config.server.trusted_proxies.clone().into();
    let admin_gate = middleware::AdminGate {
        trusted_proxies: trusted.clone(),
        admin_ips: config.admin.allowed_ips.clone().into(),
        clock: state.clock.clone(),
        auth: state.auth.clone(),
        db: state.db.clone(),
        remote_with_totp: config.admin.remote_with_totp,
    };
    let rate_limit = middleware::RateLimit::new(
        client::ClientLimiter::new(config.server.rate_limit_per_minute),
        &trusted,
    );
    let observe = middleware::Observe {
        metrics: config.metrics.enabled && metrics::handle().is_some(),
        analytics: state.analytics.clone(),
        auth: state.auth.clone(),
        clock: state.clock.clone(),
    };
    let hot_state = state.clone();
    assets::warm();
    let api = api::service(state.clone());
    // The document is made once: the route table reads it, `/openapi.json` serves it.
    let document = api.spec();
    routes::install(&document);
    let spec = {
        let document = bytes::Bytes::from(document);
        poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("application/json")
                .body(document.clone())
        })
    };
    let docs = docs::Docs::new(state.clone());
    Route::new()
        .nest("/api", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/ws", ws::connect.data(state.clone()))
        .at("/metrics", metrics::scrape.data(state))
        .at("/", assets::serve)
        .at("/*path", assets::serve)
        // Innermost first: see `middleware` for what each layer does and why in this order.
        .with(middleware::HotReads { state: hot_state })
        .with(admin_gate)
        .with(rate_limit)
        .with(middleware::BodyLimit)
        .with(middleware::Envelope)
        .with(middleware::SecurityHeaders)
        .with(observe)
        .with(middleware::RequestIds)
}
