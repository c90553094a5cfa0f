//! The web site's static files, embedded in the binary.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::web::headers::{ETag, HeaderMapExt, IfNoneMatch};
use poem::{Request, Response};
use rust_embed::RustEmbed;

use super::error::ApiError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Serves `/` as `index.html`, `/dir/` as `dir/index.html`, and other paths as files.
#[poem::handler]
pub fn serve(req: &Request) -> poem::Result<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let path = req.uri().path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let file = Assets::get(&path)
        .ok_or_else(|| ApiError::not_found("There is nothing at this address."))?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let cache = if path.ends_with(".html") {
        "no-cache"
    } else {
        "public, max-age=300, stale-while-revalidate=86400"
    };
    let mut resp = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let (Ok(tag), Some(inm)) = (
        etag.parse::<ETag>(),
        req.headers().typed_get::<IfNoneMatch>(),
    ) && !inm.precondition_passes(&tag)
    {
        return Ok(resp.status(StatusCode::NOT_MODIFIED).finish());
    }
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    resp = resp.content_type(mime.as_ref());
    Ok(resp.body(file.data.into_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
