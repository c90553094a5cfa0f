//! What every request goes through, as one poem middleware per concern, composed with
//! `.with()` in `http::routes` (outermost first):
//!
//! 1. [`RequestIds`]: the request's id (the client's own when plain, else a new one) for
//!    error envelopes and log lines, echoed in `X-Request-Id`;
//! 2. [`Observe`]: how long it took, `/metrics`, usage analytics and the access log;
//! 3. [`SecurityHeaders`]: the Content-Security-Policy and friends, by kind of page;
//! 4. [`Envelope`]: errors raised anywhere below (poem's own 404/405 and parse errors
//!    included) become the API's error envelope; a 405 says what is `Allow`ed;
//! 5. [`BodyLimit`]: no body over [`MAX_BODY`] is read;
//! 6. [`RateLimit`]: the per-client token bucket on `/api/*`;
//! 7. [`AdminGate`]: `/api/admin/*` only from allowed addresses, and a signature, when
//!    one is sent, checked on the raw body before any handler parses it;
//! 8. [`HotReads`]: the current race with its defaults and plain leaderboard pages,
//!    answered before the router (the same answers the routes give; see
//!    `docs/scale.md` for why).

mod after;
mod envelope;
mod gate;
mod headers;
mod hot;
mod ids;
mod observe;

pub use envelope::{Envelope, error_response};
pub use gate::{
    AdminGate, BodyLimit, MAX_BODY, RateLimit, SIGNATURE_HEADER, SignedRequest,
    admin_address_refused, is_mfa_admin,
};
pub use headers::{SecurityHeaders, api_security_headers};
pub use hot::HotReads;
pub use ids::{RequestIds, current_request_id, hold_request_id};
pub use observe::Observe;
