//! Errors raised anywhere below the handlers' own (routing, parameter and body parsing,
//! extractors) become the API's error envelope here; errors the handlers built are
//! envelopes already. A 405 also says which methods the address takes.

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::after::after;

use crate::http::error::{ApiError, ErrorCode};

/// Errors that escaped the handlers (routing, parameter and body parsing, extractors)
/// become envelopes here; errors the handlers built are envelopes already.
pub fn error_response(err: poem::Error) -> Response {
    error_response_at(err, None)
}

/// As [`error_response`], knowing the request's path, so that a path parameter that
/// did not parse is named as the API documents it.
fn error_response_at(err: poem::Error, path: Option<&str>) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let message = err.to_string();
    let api = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            ErrorCode::MethodNotAllowed,
            "This address does not accept this method.",
        ),
        StatusCode::BAD_REQUEST => bad_request(&err, message, path),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            ErrorCode::PayloadTooLarge,
            "The request body is too large.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            ErrorCode::UnsupportedMediaType,
            "The request body must be JSON (Content-Type: application/json).",
        ),
        StatusCode::UNAUTHORIZED => {
            ApiError::new(status, ErrorCode::Unauthorized, "Sign-in is required.")
        }
        StatusCode::FORBIDDEN => ApiError::new(status, ErrorCode::Forbidden, "Not allowed."),
        s if s.is_server_error() => ApiError::internal(message),
        s => ApiError::new(s, ErrorCode::ValidationError, message),
    };
    api.into_response()
}

fn bad_request(err: &poem::Error, message: String, path: Option<&str>) -> ApiError {
    use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
    if let Some(p) = err.downcast_ref::<ParseParamError>() {
        return ApiError::validation(p.name, format!("Invalid `{}`: {}", p.name, p.reason));
    }
    if let Some(p) = err.downcast_ref::<ParsePathError>() {
        let name = path_param_name(p.name, path).unwrap_or(p.name);
        return ApiError::validation(name, format!("Invalid `{name}`: {}", p.reason));
    }
    if let Some(p) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::validation("body", format!("Invalid request body: {}", p.reason));
    }
    ApiError::validation("request", message)
}

/// The documented name of the path parameter poem-openapi calls `param{N}`, from the
/// template the path matches.
fn path_param_name(positional: &str, path: Option<&str>) -> Option<&'static str> {
    let index = positional.strip_prefix("param")?.parse().ok()?;
    let routes = crate::http::routes::table();
    crate::http::routes::RouteTable::path_param(routes.template(path?), index)
}

pub struct Envelope;

impl<E: Endpoint> Middleware<E> for Envelope {
    type Output = EnvelopeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        EnvelopeEndpoint { inner }
    }
}

pub struct EnvelopeEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for EnvelopeEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        // A cheap clone (shared bytes), read only for errors: a 405's Allow header, a
        // path parameter's name.
        let uri = req.uri().clone();
        after(self.inner.call(req), move |answer| {
            let mut resp = match answer {
                Ok(resp) => resp,
                Err(err) => error_response_at(err, Some(uri.path())),
            };
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED
                && !resp.headers().contains_key("allow")
            {
                let routes = crate::http::routes::table();
                let allowed = routes.methods(routes.template(uri.path()));
                resp.headers_mut()
                    .insert("allow", HeaderValue::from_static(allowed));
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};

    use super::*;

    async fn body_of(resp: Response) -> serde_json::Value {
        serde_json::from_slice(&resp.into_body().into_vec().await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_malformed_json_body_becomes_a_400_validation_error_naming_the_body() {
        let err = poem::Error::from(ParseRequestPayloadError {
            reason: "expected value at line 1".into(),
        });
        let resp = error_response(err);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = body_of(resp).await;
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(body["error"]["details"]["field"], "body");
    }

    #[tokio::test]
    async fn a_bad_parameter_names_the_parameter() {
        let err = poem::Error::from(ParseParamError {
            name: "page",
            reason: "not a number".into(),
        });
        let body = body_of(error_response(err)).await;
        assert_eq!(body["error"]["details"]["field"], "page");
        assert!(body["error"]["message"].as_str().unwrap().contains("page"));
    }

    #[tokio::test]
    async fn a_server_error_never_leaks_its_cause() {
        let err =
            poem::Error::from_string("disk /var/secret full", StatusCode::INTERNAL_SERVER_ERROR);
        let resp = error_response(err);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(resp).await;
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
        assert!(!body.to_string().contains("secret"));
    }
}
