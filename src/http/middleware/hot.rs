//! The fast lane for the hottest public read: `GET /api/wager-races/current` with no
//! query, which every race page and overlay asks for, answered before the router.
//!
//! The answer is the very one the API route gives (same function, same answer cache,
//! same headers): only the routing table and poem-openapi's extractors are skipped,
//! which were half of the request's CPU. It sits inside every other layer, so request
//! ids, metrics, analytics, security headers and the rate limit apply as to any
//! request. Any other path, method or query goes on to the router.

use std::sync::Arc;

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::http::api::current_race;
use crate::http::state::AppState;

pub const CURRENT: &str = "/api/wager-races/current";

pub struct HotReads {
    pub state: Arc<AppState>,
}

impl<E: Endpoint> Middleware<E> for HotReads {
    type Output = HotReadsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HotReadsEndpoint {
            inner,
            state: self.state.clone(),
        }
    }
}

pub struct HotReadsEndpoint<E> {
    inner: E,
    state: Arc<AppState>,
}

impl<E: Endpoint> Endpoint for HotReadsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let uri = req.uri();
        if req.method() == Method::GET && uri.path() == CURRENT && uri.query().is_none() {
            return Ok(match current_race(&self.state, &req).await {
                Ok(answer) => answer.into_response(),
                Err(refused) => refused.into_response(),
            });
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
