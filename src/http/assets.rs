//! The web site's static files, embedded in the binary, and gzipped once at start.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::web::headers::{ETag, HeaderMapExt, IfNoneMatch};
use poem::{Request, Response};
use rust_embed::RustEmbed;

use super::error::ApiError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Every text file (pages, scripts, styles, images as SVG) gzipped, made once.
static GZIPPED: LazyLock<HashMap<String, Bytes>> = LazyLock::new(|| {
    Assets::iter()
        .filter(|path| {
            [".html", ".js", ".css", ".svg", ".json", ".txt"]
                .iter()
                .any(|ext| path.ends_with(ext))
        })
        .filter_map(|path| {
            let file = Assets::get(&path)?;
            let packed = super::compress::gzip(&file.data)?;
            Some((path.into_owned(), packed))
        })
        .collect()
});

/// Compresses the static files now (at start), not on the first request for them.
pub fn warm() {
    LazyLock::force(&GZIPPED);
}

/// Serves `/` as `index.html`, `/dir/` as `dir/index.html`, and other paths as files.
#[poem::handler]
pub fn serve(req: &Request) -> poem::Result<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let path = req.uri().path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else if path == "setup" {
        // The address the first-run log line gives (SPEC §14).
        "setup.html".to_string()
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
    if let Some(packed) = GZIPPED.get(&path) {
        resp = resp.header(header::VARY, "accept-encoding");
        if super::compress::accepts_gzip(req) {
            return Ok(resp
                .header(header::CONTENT_ENCODING, "gzip")
                .body(packed.clone()));
        }
    }
    Ok(resp.body(file.data.into_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
