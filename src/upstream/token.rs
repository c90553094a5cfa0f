//! The upstream token: configured, or replaced at run time by an admin (kept in the
//! database so it survives a restart). It is a secret: it is never logged, and what
//! identifies it in logs and state is a short fingerprint.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::db::{Db, DbResult, settings};

const SETTING: &str = "upstream.token";

/// Clones share one token: a replacement made through any of them is seen by all.
#[derive(Clone)]
pub struct TokenStore {
    configured: Option<Secret>,
    /// The token set at run time: read from the database once, then kept here by
    /// `replace`, so asking for the token (the scheduler does on every tick) costs no
    /// query.
    replaced: Arc<RwLock<Option<Secret>>>,
    db: Db,
}

impl TokenStore {
    pub fn new(configured: Option<Secret>, db: Db) -> DbResult<Self> {
        let stored = settings::get(&*db.reader()?, SETTING)?.map(Secret::new);
        Ok(TokenStore {
            configured,
            replaced: Arc::new(RwLock::new(stored)),
            db,
        })
    }

    /// The token to use now: one set at run time wins over the configured one.
    pub fn current(&self) -> Option<Secret> {
        self.replaced
            .read()
            .clone()
            .or_else(|| self.configured.clone())
    }

    /// Stores a new token; `also` runs in the same transaction (the audit row).
    pub fn replace(
        &self,
        token: &str,
        now: DateTime<Utc>,
        also: impl FnOnce(&rusqlite::Connection) -> DbResult<()>,
    ) -> DbResult<()> {
        let (token, now) = (token.trim(), crate::db::timestamp(now));
        self.db.write_blocking(|tx| {
            settings::set(tx, SETTING, token, &now)?;
            also(tx)
        })?;
        *self.replaced.write() = Some(Secret::new(token));
        Ok(())
    }
}

/// A short, one-way name for a token, for telling tokens apart without revealing them.
pub fn fingerprint(token: &Secret) -> String {
    let digest = Sha256::digest(token.expose().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a token expiring at `exp` is within `warning` of it (or expired) at `now`.
/// The warning is `notify.token_warning_hours` (3 by default): Goated's tokens live 24
/// hours (6 in some periods), so a warning days ahead would be on from the start.
pub fn expires_soon(exp: DateTime<Utc>, now: DateTime<Utc>, warning: chrono::Duration) -> bool {
    exp - now < warning
}

/// The `exp` claim of a JWT, read without verifying the signature (we have no key):
/// only to know when it will expire.
pub fn expiry(token: &Secret) -> Option<DateTime<Utc>> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    DateTime::from_timestamp(exp, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> Secret {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        Secret::new(format!("{}.{}.sig", enc(r#"{"alg":"HS256"}"#), enc(claims)))
    }

    #[test]
    fn the_expiry_is_read_from_the_exp_claim() {
        let token = jwt(r#"{"uid":"u","session":"s","iat":1795000000,"exp":1795086400}"#);
        assert_eq!(expiry(&token).unwrap().timestamp(), 1795086400);
    }

    #[test]
    fn a_token_without_a_readable_exp_has_no_expiry() {
        assert_eq!(expiry(&Secret::new("not-a-jwt")), None);
        assert_eq!(expiry(&jwt(r#"{"uid":"u"}"#)), None);
    }

    #[test]
    fn fingerprints_differ_between_tokens_and_hide_them() {
        let (a, b) = (Secret::new("token-a"), Secret::new("token-b"));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 16);
        assert!(!fingerprint(&a).contains("token"));
    }
}
