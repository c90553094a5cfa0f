//! Start-up checks of values whose type alone does not make them valid.

use std::str::FromStr;

use super::{Config, ConfigError};

/// UTC offsets in use in the world lie within ±14 hours.
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

impl Config {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_cron("sync.leaderboard_cron", &self.sync.leaderboard_cron)?;
        check_cron("sync.housekeeping_cron", &self.sync.housekeeping_cron)?;
        check_cron("sync.demo_cron", &self.sync.demo_cron)?;
        if !self.backup.cron.is_empty() {
            check_cron("backup.cron", &self.backup.cron)?;
        }
        self.check_notify()?;
        if let Some(url) = &self.site.public_url
            && !is_http_url(url)
        {
            return Err(ConfigError::invalid(
                "site.public_url",
                "must be an http:// or https:// address, like \"https://races.example.com\"",
            ));
        }
        if self.backup.keep == 0 {
            return Err(ConfigError::invalid("backup.keep", "must be at least 1"));
        }
        if self.sync.breaker_failures == 0 {
            return Err(ConfigError::invalid(
                "sync.breaker_failures",
                "must be at least 1",
            ));
        }
        if self.sync.month_end_minutes > 120 {
            return Err(ConfigError::invalid(
                "sync.month_end_minutes",
                "must be 0 to 120",
            ));
        }
        if !(1..=3600).contains(&self.analytics.flush_secs) {
            return Err(ConfigError::invalid(
                "analytics.flush_secs",
                "must be 1 to 3600",
            ));
        }
        if self.analytics.keep_days == 0 {
            return Err(ConfigError::invalid(
                "analytics.keep_days",
                "must be at least 1",
            ));
        }
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "server.tls_key",
                    "is required when server.tls_cert is set",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "server.tls_cert",
                    "is required when server.tls_key is set",
                ));
            }
            _ => {}
        }
        self.validate_race()?;
        self.validate_upstream()?;
        if self.database.pool_size == 0 {
            return Err(ConfigError::invalid(
                "database.pool_size",
                "must be at least 1",
            ));
        }
        if self.database.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid("database.path", "must not be empty"));
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::invalid(
                "auth.jwt_secret",
                "must be at least 32 characters",
            ));
        }
        if let Some(secret) = &self.admin.signing_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::invalid(
                "admin.signing_secret",
                "must be at least 32 characters",
            ));
        }
        if !(1..=64).contains(&self.auth.password_hash_concurrency) {
            return Err(ConfigError::invalid(
                "auth.password_hash_concurrency",
                "must be 1 to 64",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError::invalid("log.level", e.to_string()))?;
        Ok(())
    }

    fn validate_race(&self) -> Result<(), ConfigError> {
        let race = &self.race;
        if race.timezone_offset_minutes.abs() > MAX_OFFSET_MINUTES {
            return Err(ConfigError::invalid(
                "race.timezone_offset_minutes",
                format!("must be between -{MAX_OFFSET_MINUTES} and {MAX_OFFSET_MINUTES}"),
            ));
        }
        check_amount("race.prize_pool", race.prize_pool)?;
        check_amount("race.min_wager", race.min_wager)?;
        crate::domain::prizes::check_distribution(&race.prize_distribution)
            .map_err(|message| ConfigError::invalid("race.prize_distribution", message))
    }

    fn validate_upstream(&self) -> Result<(), ConfigError> {
        let up = &self.upstream;
        if !(up.base_url.starts_with("http://") || up.base_url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "upstream.base_url",
                "must start with http:// or https://",
            ));
        }
        if let Some(code) = &up.referral_code
            && (code.is_empty()
                || code.len() > 32
                || !code.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(ConfigError::invalid(
                "upstream.referral_code",
                "must be 1 to 32 letters or digits",
            ));
        }
        if up.mode == super::UpstreamMode::Live && up.referral_code.is_none() {
            return Err(ConfigError::invalid(
                "upstream.referral_code",
                "is required when upstream.mode is \"live\"",
            ));
        }
        if up.timeout_secs == 0 || up.timeout_secs > 600 {
            return Err(ConfigError::invalid(
                "upstream.timeout_secs",
                "must be 1 to 600",
            ));
        }
        if up.max_retries > 10 {
            return Err(ConfigError::invalid(
                "upstream.max_retries",
                "must be 0 to 10",
            ));
        }
        if up.max_entries == 0 || up.max_entries > 10_000_000 {
            return Err(ConfigError::invalid(
                "upstream.max_entries",
                "must be 1 to 10000000",
            ));
        }
        if up.requests_per_minute == 0 {
            return Err(ConfigError::invalid(
                "upstream.requests_per_minute",
                "must be at least 1",
            ));
        }
        if up.retry_base_ms == 0 || up.retry_max_secs == 0 {
            return Err(ConfigError::invalid(
                "upstream.retry_base_ms",
                "retry_base_ms and retry_max_secs must be at least 1",
            ));
        }
        if up.demo_players == 0 || up.demo_players > 200_000 {
            return Err(ConfigError::invalid(
                "upstream.demo_players",
                "must be 1 to 200000",
            ));
        }
        if up.demo_history_days > 400 {
            return Err(ConfigError::invalid(
                "upstream.demo_history_days",
                "must be 0 to 400",
            ));
        }
        Ok(())
    }
}

impl Config {
    fn check_notify(&self) -> Result<(), ConfigError> {
        let n = &self.notify;
        for hook in &n.discord_webhooks {
            if !is_http_url(hook.expose()) {
                return Err(ConfigError::invalid(
                    "notify.discord_webhooks",
                    "each must be an http(s) URL",
                ));
            }
        }
        if let Some(hook) = &n.operator_discord_webhook
            && !is_http_url(hook.expose())
        {
            return Err(ConfigError::invalid(
                "notify.operator_discord_webhook",
                "must be an http(s) URL",
            ));
        }
        // The bot serves the community's chat, the operator's, or both.
        let chats = n.telegram_chat_id.is_some() || n.operator_telegram_chat_id.is_some();
        if n.telegram_bot_token.is_some() != chats {
            return Err(ConfigError::invalid(
                "notify.telegram_chat_id",
                "telegram_bot_token is set together with telegram_chat_id or \
                 operator_telegram_chat_id (or both)",
            ));
        }
        if !(1..=168).contains(&n.token_warning_hours) {
            return Err(ConfigError::invalid(
                "notify.token_warning_hours",
                "must be 1 to 168",
            ));
        }
        if !(1..=3600).contains(&n.alert_check_secs) {
            return Err(ConfigError::invalid(
                "notify.alert_check_secs",
                "must be 1 to 3600",
            ));
        }
        if !(n.telegram_api_base.starts_with("https://")
            || n.telegram_api_base.starts_with("http://"))
        {
            return Err(ConfigError::invalid(
                "notify.telegram_api_base",
                "must be an http(s) URL",
            ));
        }
        if !(1..=600).contains(&n.per_minute) {
            return Err(ConfigError::invalid(
                "notify.per_minute",
                "must be 1 to 600",
            ));
        }
        if !(1..=20).contains(&n.max_attempts) {
            return Err(ConfigError::invalid(
                "notify.max_attempts",
                "must be 1 to 20",
            ));
        }
        if !(1..=600_000).contains(&n.retry_base_ms) {
            return Err(ConfigError::invalid(
                "notify.retry_base_ms",
                "must be 1 to 600000",
            ));
        }
        Ok(())
    }
}

fn check_cron(key: &str, expression: &str) -> Result<(), ConfigError> {
    cron::Schedule::from_str(expression)
        .map(|_| ())
        .map_err(|e| {
            ConfigError::invalid(
                key,
                format!(
                    "{expression:?} is not a cron expression with seconds \
                 (sec min hour day month weekday, e.g. \"0 */5 * * * *\"): {e}"
                ),
            )
        })
}

fn check_amount(key: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            "must be a non-negative number of dollars",
        ))
    }
}

/// An `http://` or `https://` address with a host and no space or control character.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(|c| c.is_whitespace() || c.is_control()))
}
