use std::path::PathBuf;

use super::*;

fn sources_with_file(text: &str) -> (tempfile::TempDir, Sources) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("goated.toml");
    std::fs::write(&file, text).unwrap();
    let sources = Sources {
        explicit_file: Some(file),
        ..Sources::default()
    };
    (dir, sources)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_defaults_are_those_of_the_spec() {
    let c = Config::defaults();
    assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.rate_limit_per_minute, 600);
    assert_eq!(c.server.max_websocket_clients, 10000);
    assert_eq!(c.database.path, PathBuf::from("goated.db"));
    assert_eq!(c.upstream.mode, UpstreamMode::Auto);
    assert_eq!(c.upstream.base_url, "https://api.goated.com");
    assert_eq!(c.upstream.timeout_secs, 30);
    assert_eq!(c.upstream.max_retries, 3);
    assert_eq!(c.upstream.requests_per_minute, 6);
    assert_eq!(c.sync.leaderboard_cron, "0 */5 * * * *");
    assert_eq!(c.race.prize_pool, 500.0);
    assert_eq!(c.race.prize_distribution, vec![0.5, 0.3, 0.1, 0.05, 0.05]);
    assert_eq!(c.race.transition_hours, 24);
    assert_eq!(c.admin.allowed_ips.len(), 2);
    assert!(c.upstream.token.is_none() && c.auth.jwt_secret.is_none());
}

#[test]
fn a_file_overrides_defaults_an_env_var_overrides_the_file_and_a_flag_overrides_both() {
    let (_dir, mut sources) =
        sources_with_file("[server]\nbind = \"127.0.0.1:1111\"\n[race]\nprize_pool = 1000\n");
    assert_eq!(
        Config::load(&sources).unwrap().config.server.bind.port(),
        1111
    );
    assert_eq!(
        Config::load(&sources).unwrap().config.race.prize_pool,
        1000.0
    );

    sources.env = env(&[
        ("GOATED_SERVER__BIND", "127.0.0.1:2222"),
        ("GOATED_RACE__PRIZE_POOL", "750.5"),
    ]);
    let c = Config::load(&sources).unwrap().config;
    assert_eq!(c.server.bind.port(), 2222);
    assert_eq!(c.race.prize_pool, 750.5);

    sources.bind = Some("127.0.0.1:3333".into());
    sources.db = Some(PathBuf::from("/tmp/other.db"));
    let c = Config::load(&sources).unwrap().config;
    assert_eq!(c.server.bind.port(), 3333);
    assert_eq!(c.database.path, PathBuf::from("/tmp/other.db"));
}

#[test]
fn env_values_are_typed_by_the_key_they_set() {
    let sources = Sources {
        env: env(&[
            ("GOATED_UPSTREAM__REFERRAL_CODE", "1234567"),
            ("GOATED_UPSTREAM__TOKEN", "abc.def.ghi"),
            ("GOATED_RACE__PRIZE_DISTRIBUTION", "[0.6, 0.4]"),
            ("GOATED_ADMIN__ALLOWED_IPS", "[\"10.0.0.0/8\"]"),
        ]),
        ..Sources::default()
    };
    let c = Config::load(&sources).unwrap().config;
    assert_eq!(c.upstream.referral_code.as_deref(), Some("1234567"));
    assert_eq!(c.upstream.token.as_ref().unwrap().expose(), "abc.def.ghi");
    assert_eq!(c.race.prize_distribution, vec![0.6, 0.4]);
    assert_eq!(c.admin.allowed_ips[0].to_string(), "10.0.0.0/8");
}

#[test]
fn unknown_keys_in_the_file_and_environment_are_reported() {
    let (_dir, mut sources) = sources_with_file("[server]\nbindd = \"x\"\n[nonsense]\na = 1\n");
    sources.env = env(&[
        ("GOATED_SERVER__PORT", "1"),
        ("GOATED_TYPO", "1"),
        ("GOATED_CONFIG", "x"),
    ]);
    let loaded = Config::load(&sources).unwrap();
    for key in ["server.bindd", "nonsense", "server.port", "GOATED_TYPO"] {
        assert!(
            loaded.unknown_keys.iter().any(|k| k == key),
            "{key} in {:?}",
            loaded.unknown_keys
        );
    }
    assert_eq!(loaded.unknown_keys.len(), 4);
}

#[test]
fn invalid_values_name_their_key() {
    let cases = [
        (
            "[race]\nprize_distribution = [0.5, 0.4]\n",
            "race.prize_distribution",
        ),
        (
            "[race]\ntimezone_offset_minutes = 2000\n",
            "race.timezone_offset_minutes",
        ),
        ("[race]\nprize_pool = -1\n", "race.prize_pool"),
        (
            "[server]\nrate_limit_per_minute = \"many\"\n",
            "server.rate_limit_per_minute",
        ),
        (
            "[server]\ntrusted_proxies = [\"not-a-cidr\"]\n",
            "server.trusted_proxies",
        ),
        ("[upstream]\nmode = \"sometimes\"\n", "upstream.mode"),
        ("[upstream]\nbase_url = \"ftp://x\"\n", "upstream.base_url"),
        (
            "[sync]\nleaderboard_cron = \"every minute\"\n",
            "sync.leaderboard_cron",
        ),
        ("[auth]\njwt_secret = \"short\"\n", "auth.jwt_secret"),
        ("[server]\ntls_cert = \"cert.pem\"\n", "server.tls_key"),
        ("[server]\ntls_key = \"key.pem\"\n", "server.tls_cert"),
        ("[analytics]\nflush_secs = 0\n", "analytics.flush_secs"),
        ("[race]\nname_masking = \"half\"\n", "race.name_masking"),
        ("[upstream]\nmax_entries = 0\n", "upstream.max_entries"),
        (
            "[site]\npublic_url = \"races.example.com\"\n",
            "site.public_url",
        ),
        ("[site]\npublic_url = \"https://a b\"\n", "site.public_url"),
        (
            "[server]\nmax_connections_per_ip = -1\n",
            "server.max_connections_per_ip",
        ),
        (
            "[database]\nmax_size_mb = \"big\"\n",
            "database.max_size_mb",
        ),
        (
            "[admin]\nremote_with_totp = \"yes\"\n",
            "admin.remote_with_totp",
        ),
        (
            "[notify]\noperator_discord_webhook = \"discord.com/x\"\n",
            "notify.operator_discord_webhook",
        ),
        (
            "[notify]\ntoken_warning_hours = 0\n",
            "notify.token_warning_hours",
        ),
        (
            "[notify]\nalert_check_secs = 0\n",
            "notify.alert_check_secs",
        ),
        (
            "[notify]\noperator_telegram_chat_id = \"42\"\n",
            "notify.telegram_chat_id",
        ),
        (
            "[upstream]\ndemo_history_days = 401\n",
            "upstream.demo_history_days",
        ),
        (
            "[notify]\ndiscord_webhooks = [\"discord.com/api/webhooks/1\"]\n",
            "notify.discord_webhooks",
        ),
        (
            "[notify]\ntelegram_bot_token = \"123:abc\"\n",
            "notify.telegram_chat_id",
        ),
        (
            "[notify]\ntelegram_api_base = \"api.telegram.org\"\n",
            "notify.telegram_api_base",
        ),
        ("[notify]\nper_minute = 0\n", "notify.per_minute"),
        ("[notify]\nmax_attempts = 21\n", "notify.max_attempts"),
        ("[notify]\nretry_base_ms = 0\n", "notify.retry_base_ms"),
    ];
    for (text, key) in cases {
        let (_dir, sources) = sources_with_file(text);
        let err = Config::load(&sources).unwrap_err().to_string();
        assert!(err.contains(key), "{text:?} gave {err:?}");
        assert!(
            !err.contains("webhooks/1"),
            "a webhook URL is a secret: {err:?}"
        );
    }
}

#[test]
fn a_missing_explicit_file_is_an_error_but_a_missing_implicit_one_is_not() {
    let missing = PathBuf::from("/definitely/not/here.toml");
    let explicit = Sources {
        explicit_file: Some(missing.clone()),
        ..Sources::default()
    };
    assert!(Config::load(&explicit).is_err());
    let implicit = Sources {
        implicit_file: Some(missing),
        ..Sources::default()
    };
    assert!(Config::load(&implicit).is_ok());
}

#[test]
fn secrets_never_show_in_debug_output() {
    let sources = Sources {
        env: env(&[("GOATED_UPSTREAM__TOKEN", "super-secret-token")]),
        ..Sources::default()
    };
    let c = Config::load(&sources).unwrap().config;
    assert!(!format!("{c:?}").contains("super-secret-token"));
}

#[test]
fn address_lists_take_bare_addresses_as_nginx_does() {
    let (_dir, sources) = sources_with_file(
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.1.0.0/16\", \"::1\"]\n\
         [admin]\nallowed_ips = [\" 192.0.2.7 \"]\n",
    );
    let c = Config::load(&sources).unwrap().config;
    let proxies: Vec<String> = c
        .server
        .trusted_proxies
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(proxies, ["127.0.0.1/32", "10.1.0.0/16", "::1/128"]);
    assert_eq!(c.admin.allowed_ips[0].to_string(), "192.0.2.7/32");
    assert_eq!(c.server.max_websockets_per_ip, 20);
}

/// Every `section.key` written in `text` (tables one level deep, as goated.toml is).
fn written_keys(text: &str) -> Vec<(String, String)> {
    let tree: Table = text.parse().unwrap();
    tree.iter()
        .flat_map(|(section, v)| {
            v.as_table()
                .unwrap()
                .keys()
                .map(|k| (section.clone(), k.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_key_of_the_default_file_is_a_key_the_config_reads() {
    let mut unknown = Vec::new();
    deserialize(DEFAULT_CONFIG_TOML.parse().unwrap(), &mut unknown).unwrap();
    assert!(unknown.is_empty(), "written but never read: {unknown:?}");
}

#[test]
fn every_key_the_file_writes_is_needed_and_named_when_missing() {
    // The file alone (no defaults underneath): taking any key out must fail, naming
    // it, so no key is written that the config would silently default.
    let keys = written_keys(DEFAULT_CONFIG_TOML);
    assert!(keys.len() >= 40, "{} keys", keys.len());
    for (section, key) in keys {
        let mut tree: Table = DEFAULT_CONFIG_TOML.parse().unwrap();
        tree[&section].as_table_mut().unwrap().remove(&key);
        let err = deserialize(tree, &mut Vec::new())
            .err()
            .unwrap_or_else(|| panic!("{section}.{key} can be left out"));
        assert!(
            err.to_string().contains(&section) && err.to_string().contains(&key),
            "{section}.{key}: {err}"
        );
    }
}

#[test]
fn every_optional_key_the_file_documents_in_a_comment_is_real() {
    // `# token = ""` and the like: uncommented, each is a key the config reads.
    let mut section = String::new();
    let mut documented = 0;
    for line in DEFAULT_CONFIG_TOML.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some(setting) = line.strip_prefix("# ")
            && setting.contains(" = ")
            && setting
                .split(" = ")
                .next()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        {
            let key = setting.split(" = ").next().unwrap();
            let value = if key.starts_with("tls_") {
                "\"x.pem\""
            } else {
                "\"0123456789abcdef0123456789abcdef\""
            };
            let text = DEFAULT_CONFIG_TOML.replace(line, &format!("{key} = {value}"));
            let mut unknown = Vec::new();
            let _ = deserialize(text.parse().unwrap(), &mut unknown);
            assert!(
                unknown.is_empty(),
                "{section}.{key} is documented but unknown: {unknown:?}"
            );
            documented += 1;
        }
    }
    assert_eq!(
        documented, 11,
        "tls_cert, tls_key, referral_code, token, jwt_secret, signing_secret, \
         telegram_bot_token, telegram_chat_id, operator_discord_webhook, \
         operator_telegram_chat_id, public_url"
    );
}

#[test]
fn the_bot_may_serve_the_operators_chat_alone() {
    let (_dir, sources) = sources_with_file(
        "[notify]\ntelegram_bot_token = \"123:abc\"\noperator_telegram_chat_id = \"42\"\n",
    );
    let c = Config::load(&sources).unwrap().config;
    assert_eq!(c.notify.operator_telegram_chat_id.as_deref(), Some("42"));
    assert!(c.notify.telegram_chat_id.is_none());
}
