//! Accounts' security: password hashing, access tokens, login throttling, signed admin
//! requests. No HTTP here; the HTTP layer calls in.

pub mod jwt;
pub mod password;
pub mod signing;
pub mod throttle;
pub mod totp;

use std::sync::Arc;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::accounts::Account;
use crate::db::{Db, DbResult, settings};

/// Access tokens live 15 minutes; refresh tokens 30 days.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_DAYS: i64 = 30;
const JWT_SECRET_SETTING: &str = "auth.jwt_secret";

/// Everything authentication needs, shared by the handlers.
pub struct Auth {
    jwt_secret: Vec<u8>,
    pub passwords: password::Passwords,
    pub throttle: throttle::LoginThrottle,
    pub signer: Arc<signing::Signer>,
}

impl Auth {
    /// The JWT secret comes from `auth.jwt_secret`, or is generated once and kept in
    /// the database so tokens survive restarts.
    pub fn load(
        config: &crate::config::Config,
        db: &Db,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DbResult<Auth> {
        let secret = match &config.auth.jwt_secret {
            Some(s) => s.expose().to_string(),
            // Generated once and kept; if another process raced us, the first one stored wins.
            None => {
                let (fresh, ts) = (random_token(), crate::db::timestamp(now));
                db.write_blocking(|tx| {
                    settings::get_or_insert(tx, JWT_SECRET_SETTING, &fresh, &ts)
                })?
            }
        };
        Ok(Auth {
            jwt_secret: secret.into_bytes(),
            passwords: password::Passwords::new(config.auth.password_hash_concurrency as usize),
            throttle: throttle::LoginThrottle::default(),
            signer: Arc::new(signing::Signer::new(config.admin.signing_secret.clone())),
        })
    }

    /// A 15-minute access token for the account; `mfa`: its session began with a
    /// second factor.
    pub fn access_token(&self, account: &Account, now: i64, mfa: bool) -> String {
        let claims = jwt::Claims {
            sub: account.id.to_string(),
            role: account.role.as_str().to_string(),
            jti: random_token(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            sep: account.session_epoch,
            mfa,
        };
        jwt::sign(&self.jwt_secret, &claims)
    }

    pub fn verify_access(&self, token: &str, now: i64) -> Result<jwt::Claims, jwt::JwtError> {
        jwt::verify(&self.jwt_secret, token, now)
    }
}

/// 256 random bits, URL-safe: refresh tokens, JWT ids, generated secrets.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a refresh token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
