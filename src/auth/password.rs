//! Password hashing with argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1,
//! argon2's defaults). Each hash holds 19 MiB and a core for ~90 ms. Hashes run on a
//! fixed pool of dedicated threads, behind a semaphore: a burst of logins queues
//! briefly, then is refused with "busy" instead of exhausting memory or starving other
//! requests. Dedicated threads matter for memory, not only for CPU: the allocator keeps
//! freed 19 MiB buffers in the arena of the thread that used them, so hashing on
//! tokio's growing blocking pool made every one of its threads hold ~100 MB.
//!
//! Each hashing thread also keeps one argon2 work area (19 MiB) and reuses it for every
//! hash. Letting argon2 allocate and free it each time made glibc keep the freed areas
//! in the threads' arenas: `scripts/attack.sh` saw a server grow from 19 MB to 209 MB
//! over a few dozen sign-ins. With the work areas kept, memory is bounded by the pool:
//! 19 MiB × `auth.password_hash_concurrency`, allocated on first use.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
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
    /// Made on a hashing thread the first time it is needed, like every other hash.
    dummy: Arc<OnceLock<Option<String>>>,
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
            dummy: Arc::new(OnceLock::new()),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.with_permit(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user), checks a dummy
    /// hash and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let dummy = self.dummy.clone();
        self.with_permit(move || match hash {
            Some(hash) => matches(&password, &hash),
            None => {
                // The same work as a wrong password, on this same hashing thread.
                let dummy = dummy.get_or_init(|| hash_now(&crate::auth::random_token()).ok());
                if let Some(dummy) = dummy {
                    let _ = matches(&password, dummy);
                }
                false
            }
        })
        .await
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

thread_local! {
    /// This thread's argon2 work area, kept between hashes (see the module's notes).
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with `params` in this thread's work area.
fn argon2_into(
    params: &Params,
    algorithm: Algorithm,
    version: Version,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let blocks = params.block_count();
    WORK_AREA.with(|area| {
        let mut area = area.borrow_mut();
        if area.len() < blocks {
            area.resize(blocks, Block::new());
        }
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(password, salt, out, &mut area[..blocks])
            .map_err(|e| HashError::Failed(e.to_string()))
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password`, with a
/// fresh 16-byte salt, exactly as the argon2 crate's own `PasswordHasher` writes it.
pub fn hash_now(password: &str) -> Result<String, HashError> {
    fn failed(e: impl std::fmt::Display) -> HashError {
        HashError::Failed(e.to_string())
    }
    let params = Params::default();
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(
        &params,
        Algorithm::Argon2id,
        Version::V0x13,
        password.as_bytes(),
        &salt,
        &mut out,
    )?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(Salt::new(&salt).map_err(failed)?),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (any argon2 variant and
/// parameters it names), compared in constant time.
pub fn matches(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let phc = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(phc.algorithm.as_str()).ok()?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&phc).ok()?;
        let (salt, expected) = (phc.salt?, phc.hash?);
        let mut out = vec![0u8; expected.len()];
        argon2_into(
            &params,
            algorithm,
            version,
            password.as_bytes(),
            &salt,
            &mut out,
        )
        .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
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
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_stored_by_the_argon2_crate_itself_still_verify() {
        // What accounts made before the kept work areas hold.
        let stored = Argon2::default()
            .hash_password(b"an-older-password")
            .unwrap()
            .to_string();
        assert!(matches("an-older-password", &stored));
        assert!(!matches("an-older-passwore", &stored));
        assert!(!matches("an-older-password", "$argon2id$v=19$garbage"));
        // Other parameters than ours are read from the string.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"light")
        .unwrap()
        .to_string();
        assert!(matches("light", &light));
    }

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
