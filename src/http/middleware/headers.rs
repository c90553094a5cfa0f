//! Security headers on every answer, by kind of page: strict everywhere, Swagger UI's
//! inline code on `/docs`, framing allowed only for the overlay and the widget, and
//! for the JSON API nothing at all (it is data, never a page that loads anything).

use poem::http::{HeaderMap, HeaderName, HeaderValue};
use poem::{Endpoint, Middleware, Request, Response};

use super::after::after;

const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI is one page with inline script and styles, all served from here.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The stream overlay and the widget are made to be framed: by OBS's browser source, by
/// a streamer's site, by the admin page's preview. They are the only pages that may be.
const FRAMABLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors *";

/// The JSON API's answers load nothing and are framed by nobody, as OWASP's REST
/// sheet advises: should a browser ever render one as a document, it may do nothing.
/// Half the length of the pages' policy, on the answers sent most.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Which security headers a response gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PageKind {
    Api,
    Strict,
    Docs,
    Framable,
}

impl PageKind {
    fn of(path: &str) -> PageKind {
        if path.starts_with("/api/") {
            PageKind::Api
        } else if path == "/docs" || path.starts_with("/docs/") {
            PageKind::Docs
        } else if path == "/overlay.html" || path == "/widget.html" {
            PageKind::Framable
        } else {
            PageKind::Strict
        }
    }
}

/// Header names made at compile time: a name given as text is parsed on every insert,
/// and these go on every response.
const CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");
const X_CONTENT_TYPE_OPTIONS: HeaderName = HeaderName::from_static("x-content-type-options");
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");
const X_FRAME_OPTIONS: HeaderName = HeaderName::from_static("x-frame-options");

fn security_headers(kind: PageKind, headers: &mut HeaderMap) {
    let csp = match kind {
        PageKind::Api => API_CSP,
        PageKind::Strict => STRICT_CSP,
        PageKind::Docs => DOCS_CSP,
        PageKind::Framable => FRAMABLE_CSP,
    };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if kind != PageKind::Framable {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// The security headers of an API answer, for a head made once and sent many times
/// (a prepared answer's, see `envelope::Success::prepared`): `SecurityHeaders` leaves
/// an API answer that carries its policy already as it is.
pub fn api_security_headers(headers: &mut HeaderMap) {
    security_headers(PageKind::Api, headers);
}

pub struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint { inner }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let kind = PageKind::of(req.uri().path());
        after(self.inner.call(req), move |answer| {
            let mut resp = answer.unwrap_or_else(super::envelope::error_response);
            // Only the API's prepared answers carry a policy of their own, and theirs is
            // this very set: one lookup instead of four inserts on the hottest answers.
            if kind != PageKind::Api || !resp.headers().contains_key(CONTENT_SECURITY_POLICY) {
                security_headers(kind, resp.headers_mut());
            }
            Ok(resp)
        })
    }
}
