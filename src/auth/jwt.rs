//! Access tokens: JWT with HS256 only. Written here rather than pulled in: signing and
//! checking one algorithm is a few lines on `hmac` + `sha2`, and a token whose header
//! names any other algorithm (`none` included) is refused before anything else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Clock skew tolerated for `iat` in the future.
const SKEW_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    pub role: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// The account's session epoch when the token was issued: ending an account's
    /// sessions moves the epoch on, and older tokens are refused. Absent (0) in tokens
    /// of accounts whose sessions were never ended.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sep: i64,
    /// The sign-in used a second factor (SPEC §14): an admin's token with it may reach
    /// the admin API from any address while `admin.remote_with_totp` is on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mfa: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = decode_json(header)?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let mut m = mac(secret);
    m.update(format!("{}.{payload}", token.split('.').next().unwrap_or_default()).as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    let claims: Claims = decode_json(payload)?;
    if claims.exp <= now || claims.iat > now + SKEW_SECS {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "7".into(),
            role: "user".into(),
            jti: "j".into(),
            iat: 1000,
            exp,
            sep: 0,
            mfa: false,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign(SECRET, &claims(2000));
        assert_eq!(verify(SECRET, &token, 1500).unwrap(), claims(2000));
        assert_eq!(verify(SECRET, &token, 2000), Err(JwtError::Expired));
    }

    /// A clock a little behind ours may issue a token "in the future": up to
    /// `SKEW_SECS`, and not one second more.
    #[test]
    fn a_token_issued_up_to_the_skew_ahead_is_accepted_and_no_further() {
        let at = |iat: i64| Claims {
            iat,
            ..claims(10_000)
        };
        let now = 1000;
        let ok = sign(SECRET, &at(now + SKEW_SECS));
        assert_eq!(verify(SECRET, &ok, now).unwrap().iat, now + SKEW_SECS);
        let ahead = sign(SECRET, &at(now + SKEW_SECS + 1));
        assert_eq!(verify(SECRET, &ahead, now), Err(JwtError::Expired));
    }

    /// Tokens of accounts whose sessions were never ended carry no `sep` at all (as
    /// before the epoch existed); any other epoch travels in the token.
    #[test]
    fn the_session_epoch_is_written_only_when_there_is_one() {
        let payload = |token: &str| -> serde_json::Value {
            let part = token.split('.').nth(1).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let plain = sign(SECRET, &claims(2000));
        assert!(payload(&plain).get("sep").is_none(), "{}", payload(&plain));
        let ended = Claims {
            sep: 3,
            ..claims(2000)
        };
        let token = sign(SECRET, &ended);
        assert_eq!(payload(&token)["sep"], 3);
        assert_eq!(verify(SECRET, &token, 1500).unwrap().sep, 3);
    }

    #[test]
    fn a_tampered_payload_or_another_key_fails_the_signature() {
        let token = sign(SECRET, &claims(2000));
        let parts: Vec<&str> = token.split('.').collect();
        let admin = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"7","role":"admin","jti":"j","iat":1000,"exp":2000}"#);
        let forged = format!("{}.{}.{}", parts[0], admin, parts[2]);
        assert_eq!(verify(SECRET, &forged, 1500), Err(JwtError::Signature));
        assert_eq!(
            verify(b"another-secret-another-secret-xx", &token, 1500),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(2000)).unwrap());
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS512"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"hs256"}"#,
        ] {
            let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                verify(SECRET, &token, 1500),
                Err(JwtError::Algorithm),
                "{header}"
            );
        }
        assert_eq!(
            verify(SECRET, "not.a.jwt.at-all", 1500),
            Err(JwtError::Malformed)
        );
        assert_eq!(verify(SECRET, "", 1500), Err(JwtError::Malformed));
    }
}
