//! Password hashing with argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1,
//! argon2's defaults). Each hash holds 19 MiB and a core for ~90 ms. Hashes run on a
//! fixed pool of dedicated threads, behind a semaphore: a burst of logins queues
//! briefly, then is refused with "busy" instead of exhausting memory or starving other
//! requests. Dedicated threads matter for memory, not only for CPU: the allocator keeps
//! freed 19 MiB buffers in the arena of the thread that used them, so hashing on
//! tokio's growing blocking pool made every one of its threads hold ~100 MB.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;
/// How long a login may wait for a hashing slot before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(3);

const COMMON: &str = include_str!("common-passwords.txt");

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the server is busy checking other passwords")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

pub struct Passwords {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// Verified against when the account does not exist, so that an unknown username
    /// costs the same time as a wrong password.
    dummy: OnceLock<String>,
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        let workers = concurrency.max(1);
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(workers);
        let inbox = Arc::new(parking_lot::Mutex::new(inbox));
        for i in 0..workers {
            let inbox = inbox.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("goated-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = inbox.lock().recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hashing thread");
            }
        }
        Passwords {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            dummy: OnceLock::new(),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.with_permit(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user), checks a dummy
    /// hash and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = match hash {
            Some(h) => h,
            None => self.dummy_hash()?,
        };
        let matches = self
            .with_permit(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }

    fn dummy_hash(&self) -> Result<String, HashError> {
        if let Some(h) = self.dummy.get() {
            return Ok(h.clone());
        }
        let h = hash_now(&crate::auth::random_token())?;
        Ok(self.dummy.get_or_init(|| h).clone())
    }

    async fn with_permit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = reply.send(work());
        });
        // Holding a permit means a worker is free or about to be: the channel has room.
        self.jobs.try_send(job).map_err(|_| HashError::Busy)?;
        answer
            .await
            .map_err(|_| HashError::Failed("a hashing thread failed".into()))
    }
}

pub fn hash_now(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// Length 8–256 characters, not a well-known password, not the username.
pub fn check_strength(password: &str, username: &str) -> Result<(), String> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(format!(
            "The password must be {MIN_LEN} to {MAX_LEN} characters long."
        ));
    }
    let lower = password.to_lowercase();
    if lower == username.to_lowercase() {
        return Err("The password must not be the username.".into());
    }
    if COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|common| common == lower)
    {
        return Err("This password is too common; choose another.".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(c))
    {
        return Err("The password must not repeat a single character.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_now("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", hash.as_str())
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", hash.as_str())
                .is_err()
        );
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check_strength("short", "bob").is_err());
        assert!(check_strength(&"x".repeat(257), "bob").is_err());
        assert!(check_strength("Password123", "bob").is_err());
        assert!(check_strength("bobbybobby", "BobbyBobby").is_err());
        assert!(check_strength("zzzzzzzzzz", "bob").is_err());
        assert!(check_strength("tall-goat-on-a-hill", "bob").is_ok());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let passwords = Passwords::new(2);
        assert!(
            !passwords
                .verify("anything-at-all".into(), None)
                .await
                .unwrap()
        );
    }
}
