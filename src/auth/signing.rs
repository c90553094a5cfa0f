//! HMAC-signed admin requests, for automation without a browser session.
//!
//! Headers: `X-Goated-Timestamp` (Unix seconds), `X-Goated-Nonce` (16–128 of
//! `[A-Za-z0-9_-]`), `X-Goated-Signature` = hex HMAC-SHA256 with `admin.signing_secret`
//! over `METHOD\nPATH_AND_QUERY\nTIMESTAMP\nNONCE\nhex(SHA-256(body))`. The timestamp
//! must be within 5 minutes of the server's clock; a nonce is accepted once (the caller
//! records it in the database for the whole window with [`Verified::forget_at`], so a
//! replay is refused after a restart too).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::hex;
use crate::config::Secret;

pub const WINDOW_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signed requests are not enabled (admin.signing_secret is not set)")]
    Disabled,
    #[error("the timestamp is missing or outside the 5-minute window")]
    Timestamp,
    #[error("the nonce is missing or malformed")]
    Nonce,
    #[error("the nonce was used before")]
    Replayed,
    #[error("the signature does not match")]
    Signature,
}

pub struct Signer {
    secret: Option<Secret>,
}

/// A request whose signature checked out; its nonce still has to be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub nonce: String,
    /// When the nonce may be forgotten: the timestamp check refuses the request by then.
    pub forget_at: i64,
}

pub fn canonical(
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{}",
        hex(&Sha256::digest(body))
    )
}

/// The signature a client computes.
pub fn sign(secret: &str, canonical: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(canonical.as_bytes());
    hex(&m.finalize().into_bytes())
}

impl Signer {
    pub fn new(secret: Option<Secret>) -> Self {
        Signer { secret }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        timestamp: Option<&str>,
        nonce: Option<&str>,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, SignatureError> {
        let secret = self.secret.as_ref().ok_or(SignatureError::Disabled)?;
        let ts = timestamp.ok_or(SignatureError::Timestamp)?;
        let at: i64 = ts.parse().map_err(|_| SignatureError::Timestamp)?;
        // abs_diff: a chosen timestamp such as i64::MIN cannot overflow the check.
        if now.abs_diff(at) > WINDOW_SECS.unsigned_abs() {
            return Err(SignatureError::Timestamp);
        }
        let nonce = nonce.ok_or(SignatureError::Nonce)?;
        let nonce_ok = (16..=128).contains(&nonce.len())
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !nonce_ok {
            return Err(SignatureError::Nonce);
        }
        let expected = canonical(method, path_and_query, ts, nonce, body);
        let given = decode_hex(signature).ok_or(SignatureError::Signature)?;
        let mut m =
            Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
        m.update(expected.as_bytes());
        m.verify_slice(&given)
            .map_err(|_| SignatureError::Signature)?;
        Ok(Verified {
            nonce: nonce.to_string(),
            // `at` is within the window of `now`, so this cannot overflow.
            forget_at: at + WINDOW_SECS + 1,
        })
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "an-automation-secret-of-32-chars!";

    fn signed(
        signer: &Signer,
        body: &[u8],
        nonce: &str,
        ts: i64,
        now: i64,
    ) -> Result<Verified, SignatureError> {
        let sig = sign(
            SECRET,
            &canonical("POST", "/api/admin/sync", &ts.to_string(), nonce, b"{}"),
        );
        signer.verify(
            "POST",
            "/api/admin/sync",
            Some(&ts.to_string()),
            Some(nonce),
            &sig,
            body,
            now,
        )
    }

    #[test]
    fn a_fresh_signature_passes_and_names_its_nonce_window() {
        let signer = Signer::new(Some(Secret::new(SECRET)));
        assert_eq!(
            signed(&signer, b"{}", "nonce-0000000001", 1000, 1010),
            Ok(Verified {
                nonce: "nonce-0000000001".into(),
                forget_at: 1301
            })
        );
    }

    #[test]
    fn the_window_is_five_minutes_either_way_and_extreme_timestamps_do_not_overflow() {
        let signer = Signer::new(Some(Secret::new(SECRET)));
        let n = "nonce-0000000005";
        assert!(signed(&signer, b"{}", n, 1000, 1300).is_ok());
        assert!(signed(&signer, b"{}", n, 1300, 1000).is_ok());
        assert_eq!(
            signed(&signer, b"{}", n, 1000, 1301),
            Err(SignatureError::Timestamp)
        );
        assert_eq!(
            signed(&signer, b"{}", n, 1301, 1000),
            Err(SignatureError::Timestamp)
        );
        for extreme in [i64::MIN, i64::MAX] {
            assert_eq!(
                signed(&signer, b"{}", n, extreme, 1000),
                Err(SignatureError::Timestamp)
            );
        }
    }

    /// `method|path|timestamp|nonce|body|signature`, computed with openssl from the
    /// format in docs/api.md (see the file's header), not by this module.
    fn vectors() -> Vec<[String; 6]> {
        include_str!("../../tests/fixtures/signed-requests.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.splitn(6, '|').collect();
                std::array::from_fn(|i| f[i].to_string())
            })
            .collect()
    }

    fn check(v: &[String; 6], now: i64) -> Result<Verified, SignatureError> {
        let signer = Signer::new(Some(Secret::new(SECRET)));
        signer.verify(
            &v[0],
            &v[1],
            Some(&v[2]),
            Some(&v[3]),
            &v[5],
            v[4].as_bytes(),
            now,
        )
    }

    #[test]
    fn signatures_made_from_the_documented_format_with_openssl_are_accepted() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 3);
        for v in &vectors {
            let now = v[2].parse::<i64>().unwrap() + 10;
            assert!(check(v, now).is_ok(), "{v:?}");
        }
    }

    #[test]
    fn a_signature_is_bound_to_its_method_path_timestamp_nonce_and_body() {
        for v in vectors() {
            let now = v[2].parse::<i64>().unwrap() + 10;
            let changed = |field: usize, value: &str| {
                let mut w = v.clone();
                w[field] = value.to_string();
                check(&w, now)
            };
            let other_method = if v[0] == "POST" { "PUT" } else { "POST" };
            assert_eq!(changed(0, other_method), Err(SignatureError::Signature));
            assert_eq!(
                changed(1, "/api/admin/sync-runs"),
                Err(SignatureError::Signature)
            );
            assert_eq!(
                changed(1, &format!("{}?", v[1])),
                Err(SignatureError::Signature)
            );
            let next_second = (v[2].parse::<i64>().unwrap() + 1).to_string();
            assert_eq!(changed(2, &next_second), Err(SignatureError::Signature));
            assert_eq!(
                changed(3, "nonce-vector-999999"),
                Err(SignatureError::Signature)
            );
            assert_eq!(
                changed(4, &format!("{} ", v[4])),
                Err(SignatureError::Signature)
            );
        }
    }

    #[test]
    fn a_nonce_is_16_to_128_of_letters_digits_dash_and_underscore() {
        let signer = Signer::new(Some(Secret::new(SECRET)));
        let ok = |nonce: &str| signed(&signer, b"{}", nonce, 1000, 1000).is_ok();
        assert!(ok(&"a".repeat(16)) && ok(&"a".repeat(128)));
        assert!(ok("AZaz09-_AZaz09-_"));
        for bad in [
            "a".repeat(15),
            "a".repeat(129),
            "nonce-with-a-dot.".into(),
            "nonce with spaces".into(),
            "nonce-ü-000000000".into(),
        ] {
            assert_eq!(
                signed(&signer, b"{}", &bad, 1000, 1000),
                Err(SignatureError::Nonce),
                "{bad:?}"
            );
        }
        assert_eq!(
            signer.verify("POST", "/p", Some("1000"), None, "00", b"{}", 1000),
            Err(SignatureError::Nonce),
            "a missing nonce"
        );
    }

    #[test]
    fn tampering_staleness_and_missing_secret_are_refused() {
        let signer = Signer::new(Some(Secret::new(SECRET)));
        assert_eq!(
            signed(&signer, b"{\"x\":1}", "nonce-0000000002", 1000, 1000),
            Err(SignatureError::Signature)
        );
        assert_eq!(
            signed(&signer, b"{}", "nonce-0000000003", 1000, 1000 + 301),
            Err(SignatureError::Timestamp)
        );
        assert_eq!(
            signed(&signer, b"{}", "short", 1000, 1000),
            Err(SignatureError::Nonce)
        );
        let off = Signer::new(None);
        assert_eq!(
            signed(&off, b"{}", "nonce-0000000004", 1000, 1000),
            Err(SignatureError::Disabled)
        );
    }
}
