//! The success half of the envelope: `{"status": "success", "data": …}`, with HTTP
//! caching (ETag, Cache-Control, 304) built in, and room for bodies prepared once and
//! sent many times.

use std::marker::PhantomData;

use poem::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use poem::web::headers::{HeaderMapExt, IfNoneMatch};
use poem::{Body, IntoResponse, Request, Response};
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

const JSON: &str = "application/json; charset=utf-8";

/// Headers an answer carries at most, its own and the middleware's.
const ANSWER_HEADERS: usize = 16;

/// How fresh data derived from the upstream is.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncMetadata {
    /// When the last successful sync started (RFC 3339), null before the first.
    #[oai(skip_serializing_if_is_none)]
    pub last_synced_at: Option<String>,
    /// True when the last sync failed or the last success is older than twice the
    /// sync interval.
    pub stale: bool,
    /// `live` or `demo` (simulated data).
    pub source: String,
}

/// A success answer whose `data` has the schema of `T`.
pub struct Success<T> {
    body: Body,
    status: StatusCode,
    etag: Option<HeaderValue>,
    cache_control: Option<HeaderValue>,
    extra: Vec<(HeaderName, HeaderValue)>,
    /// The whole head, when it was made once for a prepared answer and cloned (see
    /// [`Success::prepared`]): then `etag`, `cache_control` and `extra` are unused.
    head: Option<HeaderMap>,
    _data: PhantomData<fn() -> T>,
}

impl<T: Type + ToJSON> Success<T> {
    pub fn new(data: &T) -> Self {
        Self::from_bytes(envelope_bytes(data, None))
    }
}

impl<T> Success<T> {
    /// A body that is already an envelope, serialized once and shared.
    pub fn from_bytes(bytes: impl Into<Body>) -> Self {
        Success {
            body: bytes.into(),
            status: StatusCode::OK,
            etag: None,
            cache_control: Some(HeaderValue::from_static("no-store")),
            extra: Vec::new(),
            head: None,
            _data: PhantomData,
        }
    }

    /// A prepared answer: shares its bytes and compares its ready-made ETag.
    ///
    /// Its head (type, ETag, cache policy, `Vary`, the encoding, and the API's security
    /// headers) is the same for every request of a data version that gets the answer
    /// whole, so the first such request makes it and the rest clone it: building it
    /// header by header was a tenth of the hot path's instructions. The security headers
    /// are the ones `SecurityHeaders` gives every API answer, and it leaves them be.
    pub fn prepared(
        prepared: &super::cache::Prepared,
        req: &Request,
        cache_control: HeaderValue,
    ) -> Self {
        let gzipped = prepared
            .gzip
            .as_ref()
            .filter(|_| super::compress::accepts_gzip(req));
        let body = gzipped.unwrap_or(&prepared.body).clone();
        let not_modified = req
            .headers()
            .typed_get::<IfNoneMatch>()
            .is_some_and(|if_none_match| !if_none_match.precondition_passes(&prepared.etag_tag));
        // The answer built header by header, with `body`.
        let made = |body: Body, cache_control: HeaderValue| {
            let mut out = Self::from_bytes(body);
            if prepared.gzip.is_some() {
                out.extra
                    .push((header::VARY, HeaderValue::from_static("accept-encoding")));
            }
            if gzipped.is_some() {
                out.extra
                    .push((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
            }
            out.cache_control = Some(cache_control);
            out.etag = Some(prepared.etag_header.clone());
            out
        };
        if not_modified {
            let mut out = made(Body::empty(), cache_control);
            out.status = StatusCode::NOT_MODIFIED;
            return out;
        }
        let (made_for, head) = prepared.heads[usize::from(gzipped.is_some())].get_or_init(|| {
            let mut head = made(Body::empty(), cache_control.clone()).headers_from_fields();
            super::middleware::api_security_headers(&mut head);
            super::middleware::hold_request_id(&mut head);
            // A clone is exactly as large as its headers: kept for the data version's
            // life, it holds no room for more.
            (cache_control.clone(), head.clone())
        });
        if *made_for != cache_control {
            // Another policy for the same bytes: no caller does this today (a cached
            // answer's key names what its policy depends on), but it would be built
            // anew rather than sent with the first policy.
            return made(body.into(), cache_control);
        }
        let mut out = Self::from_bytes(body);
        out.head = Some(head.clone());
        out
    }

    /// An extra header, e.g. `Set-Cookie`.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra.push((name, value));
        self
    }

    pub fn created(mut self) -> Self {
        self.status = StatusCode::CREATED;
        self
    }
}

/// Serializes `{"status":"success","data":…,"metadata":…}` in one buffer.
pub fn envelope_bytes<T: ToJSON>(data: &T, metadata: Option<&SyncMetadata>) -> Vec<u8> {
    let data = data.to_json_string();
    let mut out = Vec::with_capacity(data.len() + 128);
    out.extend_from_slice(br#"{"status":"success","data":"#);
    out.extend_from_slice(data.as_bytes());
    if let Some(meta) = metadata {
        out.extend_from_slice(br#","metadata":"#);
        out.extend_from_slice(meta.to_json_string().as_bytes());
    }
    out.push(b'}');
    out
}

impl<T> Success<T> {
    /// The answer's headers, made from its fields.
    fn headers_from_fields(&mut self) -> HeaderMap {
        // Room, in one allocation, for these and what the middleware adds (security
        // headers, the request id): growing the map header by header was measurable on
        // the hot path.
        let mut headers = HeaderMap::with_capacity(ANSWER_HEADERS);
        if self.status != StatusCode::NOT_MODIFIED {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        }
        if let Some(etag) = self.etag.take() {
            headers.insert(header::ETAG, etag);
        }
        if let Some(cc) = self.cache_control.take() {
            headers.insert(header::CACHE_CONTROL, cc);
        }
        for (name, value) in self.extra.drain(..) {
            headers.append(name, value);
        }
        headers
    }
}

impl<T: Send> IntoResponse for Success<T> {
    fn into_response(mut self) -> Response {
        let headers = match self.head.take() {
            Some(head) => head,
            None => self.headers_from_fields(),
        };
        let mut resp = Response::from(self.body);
        resp.set_status(self.status);
        *resp.headers_mut() = headers;
        resp
    }
}

fn envelope_schema<T: Type>() -> MetaSchemaRef {
    let status = MetaSchema {
        enum_items: vec![serde_json::json!("success")],
        ..MetaSchema::new("string")
    };
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        required: vec!["status", "data"],
        properties: vec![
            ("status", MetaSchemaRef::Inline(Box::new(status))),
            ("data", T::schema_ref()),
            ("metadata", SyncMetadata::schema_ref()),
        ],
        ..MetaSchema::new("object")
    }))
}

impl<T: Type + Send> ApiResponse for Success<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "Success",
                    status: Some(200),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: envelope_schema::<T>(),
                    }],
                    headers: vec![],
                },
                MetaResponse {
                    description: "Not modified (the ETag in If-None-Match still matches)",
                    status: Some(304),
                    status_range: None,
                    content: vec![],
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        SyncMetadata::register(registry);
    }
}

/// A success answer with status 201 instead of 200, documented as such.
pub struct Created<T>(pub Success<T>);

impl<T: Send> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        self.0.created().into_response()
    }
}

impl<T: Type + Send> ApiResponse for Created<T> {
    fn meta() -> MetaResponses {
        let mut meta = Success::<T>::meta();
        meta.responses.truncate(1);
        meta.responses[0].status = Some(201);
        meta.responses[0].description = "Created";
        meta
    }

    fn register(registry: &mut Registry) {
        Success::<T>::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::cache::Prepared;

    fn answer(prepared: &Prepared, req: &Request, policy: &'static str) -> Response {
        Success::<()>::prepared(prepared, req, HeaderValue::from_static(policy)).into_response()
    }

    fn names(resp: &Response) -> Vec<String> {
        let mut names: Vec<String> = resp.headers().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_prepared_head_is_kept_per_encoding_and_made_anew_for_another_policy() {
        let prepared =
            Prepared::whole(br#"{"status":"success","data":"x"}"#.repeat(64)).compressed();
        assert!(prepared.gzip.is_some());
        let plain = Request::builder().finish();
        let gzip = Request::builder()
            .header(header::ACCEPT_ENCODING, "gzip")
            .finish();
        // Gzipped first: the plain answer after it must not get its encoding.
        let zipped = answer(&prepared, &gzip, "public, max-age=15");
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        for _ in 0..2 {
            let resp = answer(&prepared, &plain, "public, max-age=15");
            assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
            assert_eq!(resp.headers()[header::VARY], "accept-encoding");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], JSON);
            assert_eq!(resp.headers()[header::ETAG], prepared.etag_header);
            assert_eq!(resp.headers()[header::CACHE_CONTROL], "public, max-age=15");
            // With the API's security headers, and the request id's place held.
            assert_eq!(
                resp.headers()["content-security-policy"],
                "default-src 'none'; frame-ancestors 'none'"
            );
            assert!(resp.headers().contains_key("x-request-id"));
        }
        assert_eq!(
            names(&zipped),
            [
                "cache-control",
                "content-encoding",
                "content-security-policy",
                "content-type",
                "etag",
                "referrer-policy",
                "vary",
                "x-content-type-options",
                "x-frame-options",
                "x-request-id"
            ]
        );
        // Another policy for the same bytes gets that policy, not the kept head's.
        let other = answer(&prepared, &plain, "no-store");
        assert_eq!(other.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_prepared_answer_whose_etag_matches_is_304_without_a_body_or_type() {
        let prepared = Prepared::whole(b"{}".to_vec());
        let req = Request::builder()
            .header(header::IF_NONE_MATCH, prepared.etag.as_str())
            .finish();
        let resp = answer(&prepared, &req, "public, max-age=15");
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert!(resp.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(resp.headers()[header::ETAG], prepared.etag_header);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "public, max-age=15");
        assert!(body_is_empty(resp), "a 304 carries no body");
    }

    fn body_is_empty(resp: Response) -> bool {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(resp.into_body().into_bytes())
            .unwrap()
            .is_empty()
    }
}
