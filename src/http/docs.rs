//! `/docs`: the Swagger UI page, made on its first request instead of at start.
//!
//! The page is the UI's 1.5 MB bundle with the OpenAPI document written into it: made
//! at start, it was 1.9 MB of heap and 1.5 MB of the binary's pages held by every
//! server, about a seventh of its idle memory, for a page few people open.

use std::sync::{Arc, OnceLock};

use poem::endpoint::BoxEndpoint;
use poem::{Endpoint, EndpointExt, Request, Response};

use crate::http::state::AppState;

pub struct Docs {
    state: Arc<AppState>,
    page: OnceLock<BoxEndpoint<'static, Response>>,
}

impl Docs {
    pub fn new(state: Arc<AppState>) -> Docs {
        Docs {
            state,
            page: OnceLock::new(),
        }
    }
}

impl Endpoint for Docs {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let page = self.page.get_or_init(|| {
            super::api::service(self.state.clone())
                .swagger_ui()
                .map_to_response()
                .boxed()
        });
        page.call(req).await
    }
}
