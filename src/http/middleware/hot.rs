//! The fast lane for the hottest public reads, answered before the router:
//! `GET /api/wager-races/current` with no query (every race page and overlay asks for
//! it) and `GET /api/affiliate/leaderboard` with a plain query (the leaderboard page).
//!
//! The answer is the very one the API route gives (same function, same answer cache,
//! same headers): only the routing table and poem-openapi's extractors are skipped,
//! which were a quarter of the request's CPU. It sits inside every other layer, so request
//! ids, metrics, analytics, security headers and the rate limit apply as to any
//! request. Any other path, method or query goes on to the router.

use std::sync::Arc;

use futures_util::future::Either;
use poem::http::Method;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::after::{Boxed, answered, given};

use crate::http::api::{
    current_race, current_race_hit, leaderboard_page_hit, leaderboard_page_made,
    plain_leaderboard_query,
};
use crate::http::state::AppState;

pub const CURRENT: &str = "/api/wager-races/current";
pub const LEADERBOARD: &str = "/api/affiliate/leaderboard";

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

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let uri = req.uri();
        let state = &self.state;
        if req.method() == Method::GET {
            if uri.path() == CURRENT && uri.query().is_none() {
                // A hit in the hot slot is answered here, in plain code: the future
                // every layer above moves is then a ready answer, not one holding the
                // request (472 B) and the handler's state. A miss waits on a box.
                if let Some(hit) = current_race_hit(state, &req) {
                    return Either::Left(given(hit));
                }
                let current = async move { Ok(answer(current_race(state, &req).await)) };
                return Either::Right(Box::pin(current) as Boxed<'_>);
            }
            if uri.path() == LEADERBOARD
                && let Some((period, page, limit)) = plain_leaderboard_query(uri.query())
            {
                if let Some(hit) = leaderboard_page_hit(state, &req, period, page, limit) {
                    return Either::Left(given(hit));
                }
                let board = async move {
                    let page = leaderboard_page_made(state, &req, period, page, limit).await;
                    Ok(answer(page))
                };
                return Either::Right(Box::pin(board));
            }
        }
        // Boxed: the router's future is the largest here, and the hot reads need none.
        let routed: Boxed<'_> = Box::pin(answered(self.inner.call(req)));
        Either::Right(routed)
    }
}

fn answer(result: Result<impl IntoResponse, impl IntoResponse>) -> Response {
    match result {
        Ok(answer) => answer.into_response(),
        Err(refused) => refused.into_response(),
    }
}
