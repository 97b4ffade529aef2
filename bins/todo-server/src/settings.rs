//! Layered configuration: `config/default.toml`, then `config/{APP_ENV}.toml`,
//! then `APP__SECTION__KEY` environment variables, then the reference's
//! short names (`ACCESS_SECRET`, `REDIS_ADDR`, ...), which win.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use config::{Config, Environment, File};
use serde::Deserialize;
use zeroize::Zeroizing;

/// The reference's variable names and the keys they set.
pub(crate) const SHORT_NAMES: [(&str, &str); 9] = [
    ("ACCESS_SECRET", "tokens.access_secret"),
    ("REFRESH_SECRET", "tokens.refresh_secret"),
    ("REDIS_ADDR", "store.redis_addr"),
    ("REDIS_URL", "store.redis_url"),
    ("REDIS_CLUSTER_NODES", "store.redis_cluster_nodes"),
    ("REDIS_SENTINEL_NODES", "store.redis_sentinel_nodes"),
    ("REDIS_SENTINEL_MASTER", "store.redis_sentinel_master"),
    ("FRONTEND_ORIGIN", "server.frontend_origin"),
    ("LISTEN_ADDR", "server.listen_addr"),
];

/// Everything the server reads from its configuration.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) server: ServerSettings,
    pub(crate) tokens: TokenSection,
    pub(crate) store: StoreSection,
    pub(crate) cookies: CookieSection,
    pub(crate) refresh: RefreshSection,
    pub(crate) sessions: SessionSection,
    pub(crate) accounts: AccountSection,
    pub(crate) login: LoginSection,
    pub(crate) csrf: CsrfSection,
    pub(crate) metrics: MetricsSection,
    pub(crate) web: WebSection,
    pub(crate) todos: TodoSection,
}

/// `[todos]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TodoSection {
    /// The most todos one user may have; `POST /todo` beyond gets 409.
    /// Default: 10000.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_per_user: u64,
}

impl Default for TodoSection {
    fn default() -> Self {
        Self { max_per_user: 10_000 }
    }
}

/// `[web]`: the browser page of `web/`, embedded in the binary.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct WebSection {
    /// Serve the page at `/` (`APP__WEB__ENABLED`). Default: only when
    /// `APP_ENV` is `development`.
    pub(crate) enabled: Option<bool>,
}

/// `[metrics]`: the Prometheus endpoint, on a listener of its own.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MetricsSection {
    /// Address of the listener that serves `GET /metrics`
    /// (`APP__METRICS__LISTEN_ADDR`). Default: none, no metrics are served.
    pub(crate) listen_addr: Option<String>,
}

/// `[server]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerSettings {
    /// Address to listen on (`LISTEN_ADDR`). Default: `127.0.0.1:8080`.
    pub(crate) listen_addr: String,
    /// The one browser origin allowed by CORS, with credentials
    /// (`FRONTEND_ORIGIN`). Default: `http://localhost:5173`.
    pub(crate) frontend_origin: String,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT. Default: 30.
    #[serde(deserialize_with = "whole")]
    pub(crate) shutdown_timeout_secs: u64,
    /// Largest request body accepted, in bytes. Default: 16384.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_body_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen_addr: "127.0.0.1:8080".into(),
            frontend_origin: "http://localhost:5173".into(),
            shutdown_timeout_secs: 30,
            max_body_bytes: 16 * 1024,
        }
    }
}

/// `[tokens]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TokenSection {
    /// `iss` of every token. Default: `jwt-todo-app`.
    pub(crate) issuer: String,
    /// `aud` of every token. Default: `jwt-todo-client`.
    pub(crate) audience: String,
    /// Access token lifetime in seconds. Default: 900.
    #[serde(deserialize_with = "whole")]
    pub(crate) access_ttl_secs: u64,
    /// Refresh token lifetime in seconds. Default: 604800.
    #[serde(deserialize_with = "whole")]
    pub(crate) refresh_ttl_secs: u64,
    /// Clock skew tolerated on `exp`, `nbf`, `iat`, in seconds. Default: 30.
    #[serde(deserialize_with = "whole")]
    pub(crate) leeway_secs: u64,
    /// Longest token accepted, in bytes. Default: 4096.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_token_bytes: usize,
    /// Algorithm of access tokens: `HS256` (default), `HS384`, `HS512` with
    /// `access_secret`, or `RS256`..`RS512`, `PS256`..`PS512`,
    /// `ES256`..`ES512`, `EdDSA` with `access_key_files`.
    pub(crate) access_algorithm: String,
    /// Key files (PEM or JWK) of an asymmetric access algorithm: the first
    /// signs, the others only verify, so a rotated-out key keeps its tokens
    /// valid until they expire (`APP__TOKENS__ACCESS_KEY_FILES`, comma-separated).
    #[serde(deserialize_with = "list_or_commas")]
    pub(crate) access_key_files: Vec<String>,
    /// HMAC secret of access tokens (`ACCESS_SECRET`), at least 32 bytes.
    pub(crate) access_secret: Option<Secret>,
    /// HMAC secret of refresh tokens (`REFRESH_SECRET`), at least 32 bytes.
    pub(crate) refresh_secret: Option<Secret>,
}

impl Default for TokenSection {
    fn default() -> Self {
        Self {
            issuer: "jwt-todo-app".into(),
            audience: "jwt-todo-client".into(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 604_800,
            leeway_secs: 30,
            max_token_bytes: 4096,
            access_algorithm: "HS256".into(),
            access_key_files: Vec::new(),
            access_secret: None,
            refresh_secret: None,
        }
    }
}

/// `[store]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StoreSection {
    /// Full Redis URL (`REDIS_URL`); takes precedence over `redis_addr`.
    pub(crate) redis_url: Option<String>,
    /// Redis `host:port` (`REDIS_ADDR`), as the reference takes it.
    pub(crate) redis_addr: Option<String>,
    /// Seed nodes of a Redis Cluster, `host:port` comma-separated
    /// (`REDIS_CLUSTER_NODES`); takes precedence over the other two.
    pub(crate) redis_cluster_nodes: Option<String>,
    /// Redis Sentinels, `host:port` comma-separated (`REDIS_SENTINEL_NODES`);
    /// with `redis_sentinel_master`, takes precedence over `redis_url` and
    /// `redis_addr`.
    pub(crate) redis_sentinel_nodes: Option<String>,
    /// Name of the master the Sentinels watch (`REDIS_SENTINEL_MASTER`).
    pub(crate) redis_sentinel_master: Option<String>,
    /// Prefix of every Redis key. Default: `todo:`.
    pub(crate) key_prefix: String,
    /// Most Redis connections. Default: 16.
    #[serde(deserialize_with = "whole")]
    pub(crate) pool_max_size: usize,
    /// Longest wait for a Redis connection or answer, in milliseconds. Default: 1000.
    #[serde(deserialize_with = "whole")]
    pub(crate) timeout_ms: u64,
    /// Use the embedded store outside `APP_ENV=development` when no Redis is
    /// set (`APP__STORE__ALLOW_EMBEDDED`): a single process whose accounts
    /// and sessions end with it. Default: false, so a forgotten Redis
    /// variable stops the start.
    pub(crate) allow_embedded: bool,
    /// Keep a local cache of access tokens known live, kept correct by Redis
    /// invalidation messages (`APP__STORE__LOCAL_CACHE`). Standalone Redis
    /// only. Default: false.
    pub(crate) local_cache: bool,
    /// Most tokens in the local cache (`APP__STORE__LOCAL_CACHE_MAX_ENTRIES`).
    /// Default: 100000.
    #[serde(deserialize_with = "whole")]
    pub(crate) local_cache_max_entries: usize,
    /// Longest time one answer of Redis is trusted by the local cache, in
    /// milliseconds (`APP__STORE__LOCAL_CACHE_MAX_AGE_MS`). Default: 30000.
    #[serde(deserialize_with = "whole")]
    pub(crate) local_cache_max_age_ms: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_addr: None,
            redis_cluster_nodes: None,
            redis_sentinel_nodes: None,
            redis_sentinel_master: None,
            key_prefix: "todo:".into(),
            allow_embedded: false,
            pool_max_size: 16,
            timeout_ms: 1000,
            local_cache: false,
            local_cache_max_entries: 100_000,
            local_cache_max_age_ms: 30_000,
        }
    }
}

/// `[cookies]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CookieSection {
    /// Mark token cookies `Secure`. Default: true.
    pub(crate) secure: bool,
}

impl Default for CookieSection {
    fn default() -> Self {
        Self { secure: true }
    }
}

/// `[refresh]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RefreshSection {
    /// Seconds after a rotation during which the rotated token still gets the
    /// same successor pair (racing tabs, retried requests). Default: 10.
    #[serde(deserialize_with = "whole")]
    pub(crate) grace_secs: u64,
    /// What a reused refresh token does: `revoke-session` (default),
    /// `revoke-successor` or `alert-only`.
    pub(crate) on_reuse: String,
}

impl Default for RefreshSection {
    fn default() -> Self {
        Self { grace_secs: 10, on_reuse: "revoke-session".into() }
    }
}

/// `[sessions]`
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SessionSection {
    /// The most sessions one user has at once; a login beyond that ends the
    /// user's sessions nearest to their end. Default: 100.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_per_user: usize,
    /// Seconds without a refresh after which a session ends. Default: the
    /// refresh token lifetime.
    #[serde(deserialize_with = "whole_or_none")]
    pub(crate) idle_ttl_secs: Option<u64>,
    /// Seconds after login at which a session ends whatever happens.
    /// Default: 2592000 (30 days).
    #[serde(deserialize_with = "whole_or_none")]
    pub(crate) absolute_ttl_secs: Option<u64>,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self { max_per_user: 100, idle_ttl_secs: None, absolute_ttl_secs: None }
    }
}

/// `[accounts]`
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AccountSection {
    /// Whether `POST /register` creates accounts. Default: false (true in
    /// `config/development.toml`).
    pub(crate) registration: bool,
}

/// `[login]`: failed-login throttling, kept in the store.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LoginSection {
    /// Failures per username within a window before 429. Default: 5.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_failures_per_user: u64,
    /// Failures per client IP within a window before 429. Default: 50.
    #[serde(deserialize_with = "whole")]
    pub(crate) max_failures_per_ip: u64,
    /// Length of a throttling window, in seconds. Default: 900.
    #[serde(deserialize_with = "whole")]
    pub(crate) window_secs: u64,
}

impl Default for LoginSection {
    fn default() -> Self {
        Self { max_failures_per_user: 5, max_failures_per_ip: 50, window_secs: 900 }
    }
}

/// `[csrf]`
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CsrfSection {
    /// Refuse cookie-authenticated unsafe requests that carry neither `Origin`
    /// nor `Referer`. Default: false, since only browsers send cookies
    /// cross-site and every current browser sends `Origin` on such requests,
    /// while non-browser clients of the reference (curl) send neither.
    pub(crate) require_origin: bool,
}

/// A configured secret: never shown by `Debug`, wiped from memory on drop.
#[derive(PartialEq, Eq)]
pub(crate) struct Secret(Zeroizing<String>);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why the configuration files for `APP_ENV` cannot be found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LayerError {
    #[error("APP_CONFIG_DIR is {0}, which is not a directory")]
    NoDir(String),
    #[error(
        "APP_ENV is {app_env:?}, but there is no {file}: use one of the environments there ({known}), \
         or add that file"
    )]
    NoEnvFile { app_env: String, file: String, known: String },
    #[error(
        "no configuration directory at {dir}, so {app_env}.toml cannot be read: set \
         APP_CONFIG_DIR to the directory of default.toml and {app_env}.toml"
    )]
    NoDefaultDir { dir: String, app_env: String },
    #[error(
        "APP_ENV is {0:?}: an environment's name is letters, digits, `-` and `_` only \
         (development, production)"
    )]
    BadEnvName(String),
}

/// Checks that the files of the layers can be read: a directory given by
/// `APP_CONFIG_DIR` (`dir_given`) must exist, and when `dir` exists it must
/// hold `{app_env}.toml`, so that a misspelt `APP_ENV` is refused rather than
/// run with the defaults. Without `APP_CONFIG_DIR` and with the default
/// directory missing, `development` gets a warning (only built-in defaults
/// and the environment then apply) and any other environment an error.
pub(crate) fn check_layers(
    dir: &Path,
    app_env: &str,
    dir_given: bool,
) -> Result<Option<String>, LayerError> {
    let name_ok = app_env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if app_env.is_empty() || !name_ok {
        return Err(LayerError::BadEnvName(app_env.to_owned()));
    }
    if !dir.is_dir() {
        if dir_given {
            return Err(LayerError::NoDir(dir.display().to_string()));
        }
        // Without the directory, `{app_env}.toml` (production's listen
        // address and closed registration among others) would be skipped.
        if app_env != "development" {
            return Err(LayerError::NoDefaultDir {
                dir: dir.display().to_string(),
                app_env: app_env.to_owned(),
            });
        }
        return Ok(Some(format!(
            "no configuration directory at {}: only the built-in defaults and the environment \
             apply (set APP_CONFIG_DIR to the directory of default.toml)",
            dir.display()
        )));
    }
    let file = dir.join(format!("{app_env}.toml"));
    if file.is_file() {
        return Ok(None);
    }
    let mut known: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".toml").map(str::to_owned))
        .filter(|name| name != "default")
        .collect();
    known.sort();
    Err(LayerError::NoEnvFile {
        app_env: app_env.to_owned(),
        file: file.display().to_string(),
        known: if known.is_empty() { "none".to_owned() } else { known.join(", ") },
    })
}

impl Settings {
    /// Reads the layers for `app_env` from `dir` and `vars` (the process
    /// environment, or a map in tests).
    pub(crate) fn load(
        dir: &Path,
        app_env: &str,
        vars: &HashMap<String, String>,
    ) -> Result<Self, config::ConfigError> {
        let mut builder = Config::builder()
            .add_source(File::from(dir.join("default.toml")).required(false))
            .add_source(File::from(dir.join(format!("{app_env}.toml"))).required(false))
            .add_source(
                Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    // Values stay the text they are (a secret of digits is
                    // not a number); typed fields parse their own text.
                    .try_parsing(false)
                    .source(Some(vars.clone())),
            );
        for (name, key) in SHORT_NAMES {
            let value = vars.get(name).filter(|v| !v.is_empty()).cloned();
            builder = builder.set_override_option(key, value)?;
        }
        builder.build()?.try_deserialize()
    }
}

/// A list of text: a TOML array, or comma-separated text as an environment
/// variable gives it (empty items left out).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Items {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Items::deserialize(deserializer)? {
        Items::List(items) => items,
        Items::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A whole number for a numeric setting. The `config` crate would round a
/// fraction (`1.5` to 2) and saturate a number beyond the field's range;
/// here both are refused, naming the value.
fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    let value = deserializer.deserialize_any(WholeNumber)?;
    T::try_from(value)
        .map_err(|_| serde::de::Error::custom(format!("{value} is too large for this setting")))
}

/// As [`whole`], for a setting that may be absent.
fn whole_or_none<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct MaybeWhole;
    impl<'de> serde::de::Visitor<'de> for MaybeWhole {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number, or nothing")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(WholeNumber).map(Some)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            WholeNumber.visit_u64(v).map(Some)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            WholeNumber.visit_i64(v).map(Some)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            WholeNumber.visit_f64(v).map(Some)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            WholeNumber.visit_str(v).map(Some)
        }
    }
    deserializer.deserialize_option(MaybeWhole)
}

struct WholeNumber;

impl serde::de::Visitor<'_> for WholeNumber {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v} is below 0")))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
        Err(E::custom(format!("{v} is not a whole number (or is too large)")))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim().parse().map_err(|_| E::custom(format!("{v:?} is not a whole number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_misspelt_app_env_or_a_missing_given_directory_is_refused() {
        assert!(check_layers(&config_dir(), "production", true).unwrap().is_none());
        let err = check_layers(&config_dir(), "prod", true).unwrap_err().to_string();
        assert!(err.starts_with("APP_ENV is \"prod\", but there is no "), "{err}");
        assert!(err.contains("(development, production)"), "{err}");

        let nowhere = config_dir().join("no-such-dir");
        let err = check_layers(&nowhere, "development", true).unwrap_err().to_string();
        assert!(err.contains("which is not a directory"), "{err}");
        let warning = check_layers(&nowhere, "development", false).unwrap();
        assert!(warning.is_some_and(|w| w.contains("only the built-in defaults")));
        let err = check_layers(&nowhere, "production", false).unwrap_err().to_string();
        assert!(err.contains("production.toml cannot be read"), "{err}");

        for name in ["../config/default", "", "prod uction", "a/b"] {
            let err = check_layers(&config_dir(), name, true).unwrap_err();
            assert!(matches!(err, LayerError::BadEnvName(_)), "{name:?}: {err}");
        }
    }

    fn config_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn default_toml_states_the_same_defaults_as_the_code() {
        let from_file = Settings::load(&config_dir(), "none", &HashMap::new()).unwrap();
        assert_eq!(from_file, Settings::default());
    }

    #[test]
    fn app_variables_set_nested_keys() {
        let env =
            vars(&[("APP__TOKENS__ACCESS_TTL_SECS", "60"), ("APP__COOKIES__SECURE", "false")]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.tokens.access_ttl_secs, 60);
        assert!(!settings.cookies.secure);
    }

    #[test]
    fn numbers_must_be_whole_and_in_range_and_errors_name_the_key() {
        for (name, value) in [
            ("APP__STORE__LOCAL_CACHE_MAX_ENTRIES", "1.5"),
            ("APP__STORE__TIMEOUT_MS", "0.5"),
            ("APP__STORE__TIMEOUT_MS", "99999999999999999999999"),
            ("APP__LOGIN__WINDOW_SECS", "-1"),
            ("APP__SESSIONS__IDLE_TTL_SECS", "2.5"),
            ("APP__TOKENS__ACCESS_TTL_SECS", "ten"),
        ] {
            let err = Settings::load(&config_dir(), "none", &vars(&[(name, value)])).unwrap_err();
            let key = name.trim_start_matches("APP__").replacen("__", ".", 1).to_lowercase();
            assert!(err.to_string().contains(&key), "{name}={value}: {err}");
        }
        let env = vars(&[
            ("APP__STORE__LOCAL_CACHE_MAX_ENTRIES", "250"),
            ("APP__SESSIONS__IDLE_TTL_SECS", "3600"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.store.local_cache_max_entries, 250);
        assert_eq!(settings.sessions.idle_ttl_secs, Some(3600));
    }

    #[test]
    fn reference_names_set_their_keys_and_win_over_app_variables() {
        let env = vars(&[
            ("ACCESS_SECRET", "a".repeat(32).as_str()),
            ("REDIS_ADDR", "redis.internal:6379"),
            ("FRONTEND_ORIGIN", "https://app.example"),
            ("LISTEN_ADDR", "0.0.0.0:9000"),
            ("APP__SERVER__LISTEN_ADDR", "127.0.0.1:1"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.tokens.access_secret.unwrap().expose(), "a".repeat(32));
        assert_eq!(settings.store.redis_addr.as_deref(), Some("redis.internal:6379"));
        assert_eq!(settings.server.frontend_origin, "https://app.example");
        assert_eq!(settings.server.listen_addr, "0.0.0.0:9000");
    }

    #[test]
    fn environment_file_overrides_defaults() {
        let settings = Settings::load(&config_dir(), "production", &HashMap::new()).unwrap();
        assert_eq!(settings.server.listen_addr, "0.0.0.0:8080");
        assert_eq!(settings.web.enabled, None, "the page is left to APP_ENV");
        let env = vars(&[("APP__WEB__ENABLED", "false")]);
        let settings = Settings::load(&config_dir(), "development", &env).unwrap();
        assert_eq!(settings.web.enabled, Some(false));
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_it() {
        let env = vars(&[("APP__TOKENS__ACCESS_TTL", "60")]);
        let err = Settings::load(&config_dir(), "none", &env).unwrap_err();
        assert!(err.to_string().contains("access_ttl"), "{err}");
    }

    #[test]
    fn refresh_and_session_keys_come_from_the_environment() {
        let env = vars(&[
            ("APP__REFRESH__GRACE_SECS", "3"),
            ("APP__REFRESH__ON_REUSE", "alert-only"),
            ("APP__SESSIONS__ABSOLUTE_TTL_SECS", "60"),
            ("REDIS_CLUSTER_NODES", "127.0.0.1:7000,127.0.0.1:7001"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(
            (settings.refresh.grace_secs, settings.refresh.on_reuse.as_str()),
            (3, "alert-only")
        );
        assert_eq!(settings.sessions.absolute_ttl_secs, Some(60));
        assert_eq!(
            settings.store.redis_cluster_nodes.as_deref(),
            Some("127.0.0.1:7000,127.0.0.1:7001")
        );
    }

    #[test]
    fn text_settings_stay_the_text_they_are_and_typed_ones_parse_it() {
        let digits = "12345678901234567890123456789012345";
        let env = vars(&[
            ("APP__TOKENS__ACCESS_SECRET", digits),
            ("APP__STORE__KEY_PREFIX", "0007"),
            ("APP__TOKENS__ISSUER", "1.50"),
            ("APP__TOKENS__AUDIENCE", "1e3"),
            ("APP__TOKENS__ACCESS_TTL_SECS", "600"),
            ("APP__COOKIES__SECURE", "false"),
            ("APP__LOGIN__WINDOW_SECS", "18446744073709551615"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.tokens.access_secret.as_ref().map(Secret::expose), Some(digits));
        assert_eq!(settings.store.key_prefix, "0007");
        assert_eq!(
            (settings.tokens.issuer.as_str(), settings.tokens.audience.as_str()),
            ("1.50", "1e3")
        );
        assert_eq!(settings.tokens.access_ttl_secs, 600);
        assert!(!settings.cookies.secure);
        assert_eq!(settings.login.window_secs, u64::MAX);
    }

    #[test]
    fn sentinel_and_metrics_keys_come_from_the_environment() {
        let env = vars(&[
            ("REDIS_SENTINEL_NODES", "127.0.0.1:26379"),
            ("REDIS_SENTINEL_MASTER", "todo"),
            ("APP__METRICS__LISTEN_ADDR", "127.0.0.1:9100"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.store.redis_sentinel_nodes.as_deref(), Some("127.0.0.1:26379"));
        assert_eq!(settings.store.redis_sentinel_master.as_deref(), Some("todo"));
        assert_eq!(settings.metrics.listen_addr.as_deref(), Some("127.0.0.1:9100"));
    }

    #[test]
    fn local_cache_keys_come_from_the_environment() {
        let env = vars(&[
            ("APP__STORE__LOCAL_CACHE", "true"),
            ("APP__STORE__LOCAL_CACHE_MAX_ENTRIES", "500"),
            ("APP__STORE__LOCAL_CACHE_MAX_AGE_MS", "2000"),
        ]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert!(settings.store.local_cache);
        assert_eq!(settings.store.local_cache_max_entries, 500);
        assert_eq!(settings.store.local_cache_max_age_ms, 2000);
    }

    #[test]
    fn key_files_are_a_comma_separated_list() {
        let env = vars(&[("APP__TOKENS__ACCESS_KEY_FILES", "keys/new.pem,keys/old.pem")]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert_eq!(settings.tokens.access_key_files, ["keys/new.pem", "keys/old.pem"]);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let env = vars(&[("ACCESS_SECRET", "super-secret-value-of-32-bytes!!")]);
        let settings = Settings::load(&config_dir(), "none", &env).unwrap();
        assert!(!format!("{settings:?}").contains("super-secret"));
    }
}
