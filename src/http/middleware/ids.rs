//! Every request's id: the client's own `X-Request-Id` when it is short and plain, a new
//! one otherwise. Error envelopes and log lines name it; the answer echoes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use poem::http::{HeaderName, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::envelope::error_response;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being handled, for error envelopes and log lines.
pub fn current_request_id() -> String {
    with_request_id(str::to_string)
}

/// Reads the id of the request being handled without copying it.
pub(super) fn with_request_id<T>(f: impl FnOnce(&str) -> T) -> T {
    match REQUEST_ID.try_with(Arc::clone) {
        Ok(id) => f(&id),
        Err(_) => f("req_none"),
    }
}

const MAX_CLIENT_ID_LEN: usize = 64;
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's own id is kept when it is short and plain (no header injection, no log
/// pollution); otherwise we make one.
fn client_request_id(req: &Request) -> Option<Arc<str>> {
    let id = req.headers().get(X_REQUEST_ID)?.to_str().ok()?;
    let sane = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| Arc::from(id))
}

fn new_request_id() -> Arc<str> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(rand::random);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("req_{prefix:08x}{n:08x}"))
}

/// The outermost layer: everything below runs with the request's id in scope.
pub struct RequestIds;

impl<E: Endpoint> Middleware<E> for RequestIds {
    type Output = RequestIdsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestIdsEndpoint { inner }
    }
}

pub struct RequestIdsEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestIdsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let id = client_request_id(&req).unwrap_or_else(new_request_id);
        let result = REQUEST_ID
            .scope(id.clone(), async {
                self.inner.call(req).await.map(IntoResponse::into_response)
            })
            .await;
        let mut resp = match result {
            Ok(resp) => resp,
            Err(err) => REQUEST_ID.sync_scope(id.clone(), || error_response(err)),
        };
        if let Ok(value) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(X_REQUEST_ID, value);
        }
        Ok(resp)
    }
}
