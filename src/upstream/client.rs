//! The Goated.com client: one endpoint, bearer token, retries that respect the upstream.

use std::sync::Arc;
use std::time::Duration;

use ureq::http::Response;

use super::backoff::{full_jitter, retry_after};
use super::ratelimit::RateLimiter;
use super::token::TokenStore;
use super::{ErrorClass, FetchError, Fetched, LeaderboardSource, StopFlag};
use crate::clock::Clock;
use crate::config::UpstreamConfig;

/// 100,000 players are about 11 MB; leave room, but not unbounded.
const MAX_BODY: u64 = 128 << 20;
/// A `Retry-After` longer than this ends the sync instead of holding the scheduler.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

pub struct LiveClient {
    agent: ureq::Agent,
    url: String,
    tokens: TokenStore,
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn Clock>,
    stop: StopFlag,
    max_retries: u32,
    retry_base: Duration,
    retry_cap: Duration,
}

/// One failed attempt, before deciding whether to retry.
struct Failure {
    class: ErrorClass,
    message: String,
    status: Option<u16>,
    wait: Option<Duration>,
}

impl LiveClient {
    pub fn new(
        config: &UpstreamConfig,
        referral_code: &str,
        tokens: TokenStore,
        limiter: Arc<RateLimiter>,
        clock: Arc<dyn Clock>,
        stop: StopFlag,
    ) -> Self {
        LiveClient {
            agent: agent(config),
            url: board_url(config, referral_code),
            tokens,
            limiter,
            clock,
            stop,
            max_retries: config.max_retries,
            retry_base: Duration::from_millis(config.retry_base_ms),
            retry_cap: Duration::from_secs(config.retry_max_secs),
        }
    }

    fn attempt(&self, token: &str) -> Result<(Vec<u8>, u16), Failure> {
        attempt(&self.agent, &self.url, token, &*self.clock)
    }

    /// How long to wait before retry number `retry`, or `None` to give up.
    fn wait_before(&self, retry: u32, failure: &Failure) -> Option<Duration> {
        match failure.wait {
            Some(wait) if wait > MAX_RETRY_AFTER => None,
            Some(wait) => Some(wait),
            None => Some(full_jitter(
                retry,
                self.retry_base,
                self.retry_cap,
                rand::random(),
            )),
        }
    }
}

fn agent(config: &UpstreamConfig) -> ureq::Agent {
    let timeout = Duration::from_secs(config.timeout_secs);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect is never followed (SPEC §17): one to another host could serve any
        // list as the affiliate's. The 3xx is answered in `read` as a permanent error.
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
        .user_agent(concat!("goated/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn board_url(config: &UpstreamConfig, referral_code: &str) -> String {
    format!(
        "{}/user2/affiliate/referral-leaderboard/{referral_code}",
        config.base_url.trim_end_matches('/')
    )
}

/// One request for the board with `token`: its body and status, or the failure.
fn attempt(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    clock: &dyn Clock,
) -> Result<(Vec<u8>, u16), Failure> {
    let result = agent
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .call();
    match result {
        Ok(resp) => read(resp, clock),
        Err(err) => Err(transport_failure(err)),
    }
}

fn read(mut resp: Response<ureq::Body>, clock: &dyn Clock) -> Result<(Vec<u8>, u16), Failure> {
    let status = resp.status().as_u16();
    let wait = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, clock.now()));
    let class = match status {
        200..=299 => None,
        401 | 403 => Some(ErrorClass::Authentication),
        429 => Some(ErrorClass::RateLimit),
        408 | 425 | 500..=599 => Some(ErrorClass::Temporary),
        _ => Some(ErrorClass::Permanent),
    };
    if let Some(class) = class {
        let message = match resp.headers().get("location").and_then(|v| v.to_str().ok()) {
            Some(to) if (300..400).contains(&status) => {
                let to: String = to.chars().take(200).filter(|c| !c.is_control()).collect();
                format!(
                    "the upstream answered HTTP {status}, a redirect to {to}, which is not followed"
                )
            }
            _ => format!("the upstream answered HTTP {status}"),
        };
        return Err(Failure {
            class,
            message,
            status: Some(status),
            wait,
        });
    }
    // Sized once from Content-Length (within the limit) instead of doubling from
    // empty: a 15 MB answer is then one allocation, not a dozen copies.
    let expected = resp.body().content_length().unwrap_or(0).min(MAX_BODY) as usize;
    let mut body = Vec::with_capacity(expected);
    let read = std::io::Read::read_to_end(
        &mut resp.body_mut().with_config().limit(MAX_BODY).reader(),
        &mut body,
    );
    match read.map_err(ureq::Error::from) {
        Ok(_) => Ok((body, status)),
        Err(err) => {
            let mut failure = transport_failure(err);
            failure.status = Some(status);
            Err(failure)
        }
    }
}

fn transport_failure(err: ureq::Error) -> Failure {
    let class = match err {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => ErrorClass::Temporary,
        ureq::Error::BodyExceedsLimit(_) => ErrorClass::Payload,
        _ => ErrorClass::Permanent,
    };
    Failure {
        class,
        message: format!("request failed: {err}"),
        status: None,
        wait: None,
    }
}

impl LeaderboardSource for LiveClient {
    fn fetch(&mut self, single_attempt: bool) -> Result<Fetched, FetchError> {
        let no_token = || FetchError {
            class: ErrorClass::Authentication,
            message: "no upstream token is set".into(),
            http_status: None,
            attempts: 0,
        };
        let mut token = self.tokens.current().ok_or_else(no_token)?;
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut reread_token = false;
        loop {
            if let Err(wait) = self.limiter.acquire(self.retry_cap, &self.stop) {
                return Err(FetchError {
                    class: ErrorClass::RateLimit,
                    message: format!(
                        "the outgoing limit of upstream requests is reached; next slot in {}s",
                        wait.as_secs() + 1
                    ),
                    http_status: None,
                    attempts,
                });
            }
            attempts += 1;
            let timer = std::time::Instant::now();
            let result = self.attempt(token.expose());
            metrics::histogram!("goated_upstream_request_duration_seconds")
                .record(timer.elapsed().as_secs_f64());
            if let Err(f) = &result {
                metrics::counter!("goated_upstream_errors_total", "class" => f.class.as_str())
                    .increment(1);
            }
            let failure = match result {
                Ok((body, status)) => {
                    return Ok(Fetched {
                        body,
                        http_status: Some(status),
                        attempts,
                    });
                }
                Err(failure) => failure,
            };
            let give_up = |f: Failure| FetchError {
                class: f.class,
                message: f.message,
                http_status: f.status,
                attempts,
            };
            if failure.class == ErrorClass::Authentication {
                // The token may have been replaced since this sync began: one more try
                // with whatever is current now, then stop.
                if reread_token || single_attempt {
                    return Err(give_up(failure));
                }
                reread_token = true;
                token = self.tokens.current().ok_or_else(no_token)?;
                continue;
            }
            let retryable = matches!(failure.class, ErrorClass::Temporary | ErrorClass::RateLimit);
            if !retryable || single_attempt || retries >= self.max_retries {
                return Err(give_up(failure));
            }
            retries += 1;
            let Some(wait) = self.wait_before(retries, &failure) else {
                return Err(give_up(failure));
            };
            tracing::warn!(
                class = failure.class.as_str(),
                status = failure.status,
                wait_ms = wait.as_millis() as u64,
                retry = retries,
                "upstream request failed, retrying: {}",
                failure.message
            );
            if !self.stop.sleep(wait) {
                return Err(give_up(failure));
            }
        }
    }
}

/// Why a token (or referral code) was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The upstream answered and said no: a refused token, an unknown code.
    #[error("{0}")]
    Refused(String),
    /// The upstream could not say: unreachable, failing, or our own limit reached.
    #[error("{0}")]
    Unavailable(String),
}

/// Asks the upstream once, under the shared limit of upstream requests, whether `token`
/// reads `referral_code`'s board (SPEC §14: before an admin's new token is kept); the
/// number of players it holds.
pub fn check(
    config: &UpstreamConfig,
    referral_code: &str,
    token: &str,
    limiter: &RateLimiter,
    clock: &dyn Clock,
) -> Result<usize, CheckError> {
    if let Err(wait) = limiter.try_acquire(std::time::Instant::now()) {
        return Err(CheckError::Unavailable(format!(
            "The limit of upstream requests is reached; try again in {} s.",
            wait.as_secs() + 1
        )));
    }
    let agent = agent(config);
    match attempt(&agent, &board_url(config, referral_code), token, clock) {
        Ok((body, _)) => crate::domain::transform::transform_limited(&body, config.max_entries)
            .map(|board| board.players.len())
            .map_err(|err| {
                CheckError::Unavailable(format!("The upstream's answer could not be read: {err}."))
            }),
        Err(f) if f.class == ErrorClass::Authentication => Err(CheckError::Refused(format!(
            "Goated.com refused this token ({}): copy a fresh one from a signed-in session.",
            f.message
        ))),
        Err(f) if f.status == Some(404) => Err(CheckError::Refused(format!(
            "Goated.com does not know the referral code {referral_code} ({}).",
            f.message
        ))),
        Err(f) => Err(CheckError::Unavailable(format!(
            "Goated.com could not be asked: {}.",
            f.message
        ))),
    }
}
