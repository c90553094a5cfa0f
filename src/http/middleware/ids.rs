//! Every request's id: the client's own `X-Request-Id` when it is short and plain, a new
//! one otherwise. Error envelopes and log lines name it; the answer echoes it.

use std::sync::atomic::{AtomicU64, Ordering};

use poem::http::{HeaderName, HeaderValue};
use poem::{Endpoint, Middleware, Request, Response};

use super::after::after;
use super::envelope::error_response;

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

const MAX_CLIENT_ID_LEN: usize = 64;
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id, held by value: it is copied into the request's scope and out again
/// for the answer's header, where a shared header value cost two allocations and
/// reference counting on every request. Always plain ASCII (see [`client_request_id`]).
#[derive(Clone, Copy)]
struct RequestId {
    len: u8,
    bytes: [u8; MAX_CLIENT_ID_LEN],
}

impl RequestId {
    fn from_plain(id: &[u8]) -> RequestId {
        let mut bytes = [0; MAX_CLIENT_ID_LEN];
        bytes[..id.len()].copy_from_slice(id);
        RequestId {
            len: id.len() as u8,
            bytes,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("req_none")
    }

    fn header(&self) -> HeaderValue {
        HeaderValue::from_bytes(self.as_bytes()).expect("a request id is plain ASCII")
    }
}

/// The id of the request being handled, for error envelopes and log lines.
pub fn current_request_id() -> String {
    with_request_id(str::to_string)
}

/// Reads the id of the request being handled (a copy of its few bytes, no allocation).
pub(super) fn with_request_id<T>(f: impl FnOnce(&str) -> T) -> T {
    match REQUEST_ID.try_with(|id| *id) {
        Ok(id) => f(id.as_str()),
        Err(_) => f("req_none"),
    }
}

/// Holds the request id's place in a head made once and cloned for every answer (a
/// prepared answer's, see `envelope::Success::prepared`): a cloned map has no room to
/// spare, so inserting the id into it grew it, a reallocation on every answer (3 % of
/// the hot path's instructions). With its place held, `RequestIds` (the outermost layer,
/// so on every answer) overwrites the value instead.
pub fn hold_request_id(headers: &mut poem::http::HeaderMap) {
    headers.insert(X_REQUEST_ID, HeaderValue::from_static(""));
}

/// A client's own id is kept when it is short and plain (no header injection, no log
/// pollution); otherwise we make one.
fn client_request_id(req: &Request) -> Option<RequestId> {
    let id = req.headers().get(X_REQUEST_ID)?.as_bytes();
    let sane = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
    sane.then(|| RequestId::from_plain(id))
}

/// `req_` and 16 hex digits: a prefix random per process, then a counter. Written by
/// hand into one buffer: this runs for every request.
fn new_request_id() -> RequestId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = u64::from(*PREFIX.get_or_init(rand::random));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff;
    let value = (prefix << 32) | n;
    let mut id = *b"req_0000000000000000";
    for (i, digit) in id[4..].iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[((value >> (60 - 4 * i)) & 0xf) as usize];
    }
    RequestId::from_plain(&id)
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

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let id = client_request_id(&req).unwrap_or_else(new_request_id);
        // Every layer below does its work before the request when its future is made
        // (see `after`): made in the id's scope, a refusal there names the id too.
        let inner = REQUEST_ID.sync_scope(id, || self.inner.call(req));
        let scoped = REQUEST_ID.scope(id, inner);
        after(scoped, move |answer| {
            let mut resp = match answer {
                Ok(resp) => resp,
                Err(err) => REQUEST_ID.sync_scope(id, || error_response(err)),
            };
            resp.headers_mut().insert(X_REQUEST_ID, id.header());
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_ids_are_req_and_sixteen_hex_digits_and_never_repeat() {
        let (a, b) = (new_request_id(), new_request_id());
        for id in [&a, &b] {
            let id = id.as_str();
            assert_eq!(id.len(), 20, "{id}");
            assert!(id.starts_with("req_"));
            assert!(
                id[4..]
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        assert_ne!(a.as_str(), b.as_str());
        // Same process, same prefix; the counter moves on.
        let n = |id: &RequestId| u64::from_str_radix(&id.as_str()[12..], 16).unwrap();
        assert_eq!(&a.as_str()[..12], &b.as_str()[..12]);
        assert!(n(&b) > n(&a));
    }

    #[test]
    fn a_clients_id_is_kept_only_when_short_and_plain() {
        let with = |id: &str| {
            let req = Request::builder().header("x-request-id", id).finish();
            client_request_id(&req).map(|v| v.header().to_str().unwrap().to_string())
        };
        assert_eq!(with("abc-123_.:x").as_deref(), Some("abc-123_.:x"));
        assert_eq!(with(&"a".repeat(64)).map(|s| s.len()), Some(64));
        assert_eq!(with(&"a".repeat(65)), None);
        assert_eq!(with("a b"), None);
        assert_eq!(with("<script>"), None);
    }
}
