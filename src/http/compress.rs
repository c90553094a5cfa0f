//! gzip for what is sent many times: cached answers (compressed once when they enter
//! the answer cache, so once per data version) and the static files (compressed once
//! at start). Answers made for one request are sent as they are: compressing them would
//! cost CPU on every request.

use bytes::Bytes;
use poem::Request;
use poem::http::header;

/// Below this size a body is sent as it is: gzip's framing would eat most of the gain.
pub const MIN_SIZE: usize = 1024;

/// `bytes` gzipped (default level), or `None` when too small to be worth it.
pub fn gzip(bytes: &[u8]) -> Option<Bytes> {
    if bytes.len() < MIN_SIZE {
        return None;
    }
    let out = crate::gzip::encode(bytes, crate::gzip::Compression::default());
    (out.len() < bytes.len()).then(|| Bytes::from(out))
}

/// Whether the client accepts gzip: `Accept-Encoding` names `gzip` (or `*`) with a
/// weight above zero.
pub fn accepts_gzip(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> Request {
        Request::builder()
            .header(header::ACCEPT_ENCODING, value)
            .finish()
    }

    #[test]
    fn gzip_is_accepted_unless_its_weight_is_zero() {
        assert!(accepts_gzip(&with("gzip")));
        assert!(accepts_gzip(&with("br, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, deflate")));
        assert!(!accepts_gzip(&Request::builder().finish()));
    }

    #[test]
    fn small_bodies_stay_as_they_are_and_large_ones_round_trip() {
        assert_eq!(gzip(b"{}"), None);
        let json = br#"{"name":"LuckyGoat77","wagered":9731.6}"#.repeat(100);
        let packed = gzip(&json).unwrap();
        assert!(
            packed.len() * 5 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut out)
            .unwrap();
        assert_eq!(out, json);
    }
}
