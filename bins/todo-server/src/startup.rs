//! Turns settings into what the server runs with, refusing bad ones with a
//! message that names the variable to fix.

use std::sync::Arc;

use actix_web::http::Uri;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_session_actix::CookiePolicy;
use jwt_session_store::{
    AnyStore, LocalCacheConfig, MemoryStore, RedisStore, RedisStoreConfig, ReusePolicy,
    SessionLifetime, StoreError,
};
use jwt_session_token::{
    Algorithm, JwsKey, KeySet, TokenError, TokenKeys, TokenService, TokenSettings,
};
use rand::RngCore;

use crate::accounts::Accounts;
use crate::data::{AppData, MemoryData, RedisData};
use crate::errors::ApiError;
use crate::settings::{LoginSection, Secret, Settings};

/// Why the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("cannot read the configuration: {0}")]
    Config(String),
    #[error(
        "{var} is not set: give it at least 32 random bytes, for example the output of \
         `openssl rand -base64 32` (it can also be set as {app_var})"
    )]
    MissingSecret { var: &'static str, app_var: &'static str },
    #[error("{var} is {len} bytes long; it needs at least 32 random bytes")]
    WeakSecret { var: &'static str, len: usize },
    #[error("{0}")]
    Tokens(TokenError),
    #[error(
        "{var} is {value:?}, which is not an address to listen on ({reason}): give host:port, \
         such as 127.0.0.1:8080"
    )]
    ListenAddr { var: &'static str, value: String, reason: String },
    #[error(
        "FRONTEND_ORIGIN {0:?} is not an origin such as https://app.example.com (scheme, host and \
         port only: no path, not even a trailing /)"
    )]
    Origin(String),
    #[error("Redis store: {0}")]
    Store(StoreError),
    #[error("{key} ({var}) is {value}; it must be {min} to {max} ({why})")]
    OutOfRange {
        key: &'static str,
        var: &'static str,
        value: u64,
        min: u64,
        max: u64,
        why: &'static str,
    },
    #[error(
        "tokens.access_key_files (APP__TOKENS__ACCESS_KEY_FILES) is set, but \
         tokens.access_algorithm is {0}, which signs with ACCESS_SECRET: set \
         APP__TOKENS__ACCESS_ALGORITHM to the key's algorithm (such as EdDSA), or drop the files"
    )]
    KeyFilesUnused(Algorithm),
    #[error(
        "ACCESS_SECRET and REFRESH_SECRET are the same: give each its own (one leaked secret \
         would otherwise forge both kinds of token)"
    )]
    SameSecrets,
    #[error(
        "no Redis is set (REDIS_ADDR, REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINEL_NODES), \
         and outside APP_ENV=development the embedded store, which loses every account and \
         session at each restart, is not used unless APP__STORE__ALLOW_EMBEDDED=true"
    )]
    NoSharedStore,
    #[error(
        // The URL itself is not shown: unparsed, its password cannot be told apart.
        "REDIS_URL is not a Redis URL ({cause}): give redis://[user:password@]host:port/[db], \
         rediss://… for TLS, or redis+unix:///path/to/socket"
    )]
    RedisUrl { cause: String },
    #[error(
        "REDIS_URL has a `#` part; `#insecure` would turn TLS certificate checks off: remove \
         it, and for a private authority give its certificate in SSL_CERT_FILE"
    )]
    UrlFragment,
    #[error("{key} ({var}) is {len} bytes; it must be at most 256, as it goes into every token")]
    TooLong { key: &'static str, var: &'static str, len: usize },
    #[error(
        "APP__METRICS__LISTEN_ADDR is the API's own address {0}: give the metrics listener \
         a port of its own"
    )]
    MetricsOnApiAddr(String),
    #[error(
        "refresh.on_reuse (APP__REFRESH__ON_REUSE) is {0:?}; it must be revoke-session, \
         revoke-successor or alert-only"
    )]
    ReusePolicy(String),
    #[error("cannot prepare password hashing: {0}")]
    Accounts(ApiError),
    #[error(
        "tokens.access_algorithm (APP__TOKENS__ACCESS_ALGORITHM) is {0:?}; it must be one of \
         HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"
    )]
    Algorithm(String),
    #[error(
        "tokens.access_algorithm is {0} but tokens.access_key_files \
         (APP__TOKENS__ACCESS_KEY_FILES) is empty: give the PEM or JWK file of the signing key"
    )]
    NoKeyFiles(Algorithm),
    #[error("access key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "REDIS_SENTINEL_NODES and REDIS_SENTINEL_MASTER go together: set both (the Sentinels' \
         host:port list and the name of the master they watch) or neither"
    )]
    SentinelHalf,
    #[error(
        "store.local_cache (APP__STORE__LOCAL_CACHE) needs a standalone Redis (REDIS_URL or \
         REDIS_ADDR); it cannot yet follow invalidations across a Redis Cluster or a Sentinel \
         failover: turn it off or use a standalone Redis"
    )]
    LocalCacheMode,
}

/// How sessions live and how refresh tokens rotate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionPolicy {
    pub(crate) lifetime: SessionLifetime,
    pub(crate) grace_secs: u64,
    pub(crate) on_reuse: ReusePolicy,
    /// The most sessions one user has at once; a login beyond ends those
    /// nearest to their end.
    pub(crate) max_per_user: usize,
}

/// What the request handlers share.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) tokens: Arc<TokenService>,
    pub(crate) store: AnyStore,
    pub(crate) cookies: CookiePolicy,
    pub(crate) accounts: Accounts,
    pub(crate) data: AppData,
    pub(crate) sessions: SessionPolicy,
    pub(crate) login: LoginPolicy,
    /// The most todos one user may have.
    pub(crate) todos_per_user: u64,
    /// Refresh tokens reused since start, for the warn logs until metrics exist.
    pub(crate) reuse_count: Arc<std::sync::atomic::AtomicU64>,
}

/// When failed logins are throttled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoginPolicy {
    pub(crate) max_failures_per_user: u64,
    pub(crate) max_failures_per_ip: u64,
    pub(crate) window_secs: u64,
}

impl From<&LoginSection> for LoginPolicy {
    fn from(section: &LoginSection) -> Self {
        Self {
            max_failures_per_user: section.max_failures_per_user,
            max_failures_per_ip: section.max_failures_per_ip,
            window_secs: section.window_secs,
        }
    }
}

/// The validated configuration.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) listen_addr: String,
    pub(crate) frontend_origin: String,
    pub(crate) shutdown_timeout_secs: u64,
    pub(crate) max_body_bytes: usize,
    pub(crate) require_origin: bool,
    pub(crate) metrics_addr: Option<String>,
    pub(crate) serve_web: bool,
    pub(crate) state: AppState,
}

pub(crate) fn prepare(settings: Settings, app_env: &str) -> Result<Prepared, StartError> {
    let development = app_env == "development";
    check_limits(&settings)?;
    let lifetime = session_lifetime(&settings);
    let section = settings.tokens;

    let access_algorithm = Algorithm::from_name(&section.access_algorithm)
        .ok_or_else(|| StartError::Algorithm(section.access_algorithm.clone()))?;
    if access_algorithm.is_symmetric() && !section.access_key_files.is_empty() {
        return Err(StartError::KeyFilesUnused(access_algorithm));
    }
    let access_secret = if access_algorithm.is_symmetric() {
        let var = "ACCESS_SECRET";
        Some(secret(section.access_secret, var, "APP__TOKENS__ACCESS_SECRET", development)?)
    } else {
        None
    };
    let access_keys = match &access_secret {
        Some(access) => KeySet::new(hmac_key(access_algorithm, access, "ACCESS_SECRET")?)
            .map_err(StartError::Tokens)?,
        None => key_files(access_algorithm, &section.access_key_files)?,
    };
    let var = "REFRESH_SECRET";
    let refresh = secret(section.refresh_secret, var, "APP__TOKENS__REFRESH_SECRET", development)?;
    if access_secret.as_ref().is_some_and(|access| access.expose() == refresh.expose()) {
        if !development {
            return Err(StartError::SameSecrets);
        }
        tracing::warn!(
            "ACCESS_SECRET and REFRESH_SECRET are the same: tokens stay apart by their type, \
             but one leaked secret then forges both kinds; give each its own"
        );
    }
    let refresh_keys =
        KeySet::new(hmac_key(Algorithm::Hs256, &refresh, var)?).map_err(StartError::Tokens)?;
    let keys = TokenKeys::from_key_sets(access_keys, refresh_keys).map_err(StartError::Tokens)?;
    let token_settings = TokenSettings {
        access_ttl_secs: section.access_ttl_secs,
        refresh_ttl_secs: section.refresh_ttl_secs,
        leeway_secs: section.leeway_secs,
        max_token_bytes: section.max_token_bytes,
        ..TokenSettings::new(section.issuer, section.audience)
    };
    let tokens = TokenService::new(token_settings, keys).map_err(StartError::Tokens)?;
    let on_reuse = ReusePolicy::from_name(&settings.refresh.on_reuse)
        .ok_or_else(|| StartError::ReusePolicy(settings.refresh.on_reuse.clone()))?;
    let sessions = SessionPolicy {
        lifetime,
        grace_secs: settings.refresh.grace_secs,
        on_reuse,
        max_per_user: settings.sessions.max_per_user,
    };

    if !development && !settings.cookies.secure {
        tracing::warn!(
            app_env,
            "cookies.secure is false: browsers will send the token cookies over plain HTTP; \
             keep it true unless every client is on this machine"
        );
    }
    check_origin(&settings.server.frontend_origin)?;
    check_listen_addr("LISTEN_ADDR", &settings.server.listen_addr)?;
    let metrics_addr = settings.metrics.listen_addr.clone().filter(|a| !a.trim().is_empty());
    if let Some(addr) = &metrics_addr {
        check_listen_addr("APP__METRICS__LISTEN_ADDR", addr)?;
        // Port 0 is a fresh port for each listener, so it cannot clash.
        let same = addr.trim() == settings.server.listen_addr.trim();
        if same && !addr.trim().ends_with(":0") {
            return Err(StartError::MetricsOnApiAddr(addr.clone()));
        }
    }
    let (store, data) = store(&settings.store, development)?;
    let accounts = Accounts::new(data.clone(), development, settings.accounts.registration)
        .map_err(StartError::Accounts)?;
    if !accounts.has_demo_user() && !accounts.registration_open() {
        tracing::info!(
            app_env,
            "registration is closed and there is no demo user: only existing accounts can log in"
        );
    }

    Ok(Prepared {
        listen_addr: settings.server.listen_addr,
        frontend_origin: settings.server.frontend_origin,
        shutdown_timeout_secs: settings.server.shutdown_timeout_secs,
        max_body_bytes: settings.server.max_body_bytes,
        require_origin: settings.csrf.require_origin,
        metrics_addr,
        serve_web: settings.web.enabled.unwrap_or(development),
        state: AppState {
            tokens: Arc::new(tokens),
            store,
            cookies: CookiePolicy { secure: settings.cookies.secure, ..CookiePolicy::default() },
            accounts,
            data,
            sessions,
            login: LoginPolicy::from(&settings.login),
            todos_per_user: settings.todos.max_per_user,
            reuse_count: Arc::default(),
        },
    })
}

impl From<config::ConfigError> for StartError {
    fn from(error: config::ConfigError) -> Self {
        Self::Config(config_error_text(&error))
    }
}

/// A configuration error on one line that shows no configured value (any
/// may be a secret): a file that does not parse is named with the line and
/// column, a value of the wrong type with its key and kind.
fn config_error_text(error: &config::ConfigError) -> String {
    use config::ConfigError as E;
    match error {
        E::FileParse { uri, cause } => {
            let cause = cause.to_string();
            let first = cause.lines().next().unwrap_or_default();
            let file = uri.as_deref().unwrap_or("a configuration file");
            format!("{file} does not parse: {first} (the line is not shown: it may hold a secret)")
        }
        E::Type { origin, unexpected, expected, key } => {
            // The kind is the first word of `string "…"`, `integer 5`, ….
            let shown = unexpected.to_string();
            let kind = shown.split_whitespace().next().unwrap_or("value");
            let key = key.as_deref().unwrap_or("a setting");
            let origin = origin.as_deref().map(|o| format!(" (from {o})")).unwrap_or_default();
            format!("{key}{origin}: expected {expected}, found a {kind} (not shown)")
        }
        E::At { error, origin, key } => {
            let inner = config_error_text(error);
            match (key, origin) {
                (Some(key), _) if !inner.contains(key.as_str()) => format!("{key}: {inner}"),
                (_, Some(origin)) if !inner.contains(origin.as_str()) => {
                    format!("{inner} (from {origin})")
                }
                _ => inner,
            }
        }
        other => other.to_string(),
    }
}

/// How long sessions last: `[sessions]`, by default idle for the refresh
/// token lifetime and 30 days in all.
pub(crate) fn session_lifetime(settings: &Settings) -> SessionLifetime {
    let sessions = &settings.sessions;
    SessionLifetime {
        idle_secs: sessions.idle_ttl_secs.unwrap_or(settings.tokens.refresh_ttl_secs),
        absolute_secs: sessions.absolute_ttl_secs.unwrap_or(30 * 86_400),
    }
}

/// One numeric setting's allowed range, and why it has one.
struct Range {
    key: &'static str,
    var: &'static str,
    value: u64,
    min: u64,
    max: u64,
    why: &'static str,
}

const DAY: u64 = 86_400;
const YEAR: u64 = 366 * DAY;

/// Refuses numbers that would leave the service unusable, quietly turn a
/// protection off, or overflow what the store can keep: a zero throttle
/// window or limit, a session that ends as it starts, a body limit no login
/// fits in, a grace window or clock leeway so long that old tokens pass,
/// lifetimes beyond a year.
fn check_limits(settings: &Settings) -> Result<(), StartError> {
    let (server, tokens, store) = (&settings.server, &settings.tokens, &settings.store);
    let (login, lifetime) = (&settings.login, session_lifetime(settings));
    let access = tokens.access_ttl_secs;
    let ranges = [
        Range {
            key: "tokens.access_ttl_secs",
            var: "APP__TOKENS__ACCESS_TTL_SECS",
            value: access,
            min: 1,
            max: DAY,
            why: "an access token is short-lived; sessions last through refresh tokens",
        },
        Range {
            key: "tokens.refresh_ttl_secs",
            var: "APP__TOKENS__REFRESH_TTL_SECS",
            value: tokens.refresh_ttl_secs,
            min: access,
            max: YEAR,
            why: "a refresh token outlives the access token it renews",
        },
        Range {
            key: "sessions.idle_ttl_secs",
            var: "APP__SESSIONS__IDLE_TTL_SECS",
            value: lifetime.idle_secs,
            min: access,
            max: YEAR,
            why: "shorter, and sessions end before their first access token does",
        },
        Range {
            key: "sessions.absolute_ttl_secs",
            var: "APP__SESSIONS__ABSOLUTE_TTL_SECS",
            value: lifetime.absolute_secs,
            min: access,
            max: YEAR,
            why: "shorter, and sessions end before their first access token does",
        },
        Range {
            key: "tokens.leeway_secs",
            var: "APP__TOKENS__LEEWAY_SECS",
            value: tokens.leeway_secs,
            min: 0,
            max: 300,
            why: "a longer leeway accepts tokens long expired",
        },
        Range {
            key: "tokens.max_token_bytes",
            var: "APP__TOKENS__MAX_TOKEN_BYTES",
            value: tokens.max_token_bytes as u64,
            min: 512,
            max: 65_536,
            why: "a token must fit, and no header needs more",
        },
        Range {
            key: "refresh.grace_secs",
            var: "APP__REFRESH__GRACE_SECS",
            value: settings.refresh.grace_secs,
            min: 0,
            max: 300,
            why: "a longer window lets a stolen refresh token be replayed without being caught",
        },
        Range {
            key: "sessions.max_per_user",
            var: "APP__SESSIONS__MAX_PER_USER",
            value: settings.sessions.max_per_user as u64,
            min: 1,
            max: 100_000,
            why: "at least the session a login starts",
        },
        Range {
            key: "todos.max_per_user",
            var: "APP__TODOS__MAX_PER_USER",
            value: settings.todos.max_per_user,
            min: 1,
            max: u64::MAX,
            why: "at least one todo",
        },
        Range {
            key: "login.window_secs",
            var: "APP__LOGIN__WINDOW_SECS",
            value: login.window_secs,
            min: 1,
            max: DAY,
            why: "a zero window turns login throttling off",
        },
        Range {
            key: "login.max_failures_per_user",
            var: "APP__LOGIN__MAX_FAILURES_PER_USER",
            value: login.max_failures_per_user,
            min: 1,
            max: 1_000_000,
            why: "at 0 every login is throttled",
        },
        Range {
            key: "login.max_failures_per_ip",
            var: "APP__LOGIN__MAX_FAILURES_PER_IP",
            value: login.max_failures_per_ip,
            min: 1,
            max: 1_000_000,
            why: "at 0 every login is throttled",
        },
        Range {
            key: "server.max_body_bytes",
            var: "APP__SERVER__MAX_BODY_BYTES",
            value: server.max_body_bytes as u64,
            min: 4096,
            max: 16 * 1024 * 1024,
            why: "a login with a long password must fit",
        },
        Range {
            key: "server.shutdown_timeout_secs",
            var: "APP__SERVER__SHUTDOWN_TIMEOUT_SECS",
            value: server.shutdown_timeout_secs,
            min: 0,
            max: 3600,
            why: "in-flight requests finish in seconds",
        },
        Range {
            key: "store.pool_max_size",
            var: "APP__STORE__POOL_MAX_SIZE",
            value: store.pool_max_size as u64,
            min: 1,
            max: 1024,
            why: "connections are multiplexed; a few serve many requests",
        },
        Range {
            key: "store.timeout_ms",
            var: "APP__STORE__TIMEOUT_MS",
            value: store.timeout_ms,
            min: 1,
            max: 60_000,
            why: "a request waiting longer for the store should get its 503",
        },
        Range {
            key: "store.local_cache_max_entries",
            var: "APP__STORE__LOCAL_CACHE_MAX_ENTRIES",
            value: store.local_cache_max_entries as u64,
            min: 1,
            max: 10_000_000,
            why: "the cache lives in the server's memory",
        },
        Range {
            key: "store.local_cache_max_age_ms",
            var: "APP__STORE__LOCAL_CACHE_MAX_AGE_MS",
            value: store.local_cache_max_age_ms,
            min: 1,
            max: 3_600_000,
            why: "an answer of Redis is trusted for a bounded time",
        },
    ];
    if let Some(r) = ranges.into_iter().find(|r| !(r.min..=r.max).contains(&r.value)) {
        let Range { key, var, value, min, max, why } = r;
        return Err(StartError::OutOfRange { key, var, value, min, max, why });
    }
    for (key, var, text) in [
        ("tokens.issuer", "APP__TOKENS__ISSUER", &tokens.issuer),
        ("tokens.audience", "APP__TOKENS__AUDIENCE", &tokens.audience),
    ] {
        if text.len() > MAX_NAME_BYTES {
            return Err(StartError::TooLong { key, var, len: text.len() });
        }
    }
    Ok(())
}

/// The longest issuer or audience: both go into every token, which must
/// stay under `tokens.max_token_bytes`.
const MAX_NAME_BYTES: usize = 256;

/// Refuses an address the listener could not bind: not `host:port`, a port
/// out of range, or a host name that does not resolve. Whether the port is
/// free is only known when binding.
fn check_listen_addr(var: &'static str, value: &str) -> Result<(), StartError> {
    use std::net::ToSocketAddrs;
    let refuse = |reason: String| StartError::ListenAddr { var, value: value.to_owned(), reason };
    let mut addrs = value.to_socket_addrs().map_err(|e| refuse(e.to_string()))?;
    addrs.next().map(|_| ()).ok_or_else(|| refuse("it resolves to no address".to_owned()))
}

fn secret(
    configured: Option<Secret>,
    var: &'static str,
    app_var: &'static str,
    development: bool,
) -> Result<Secret, StartError> {
    match configured {
        Some(secret) => Ok(secret),
        None if development => {
            tracing::warn!(
                "{var} is not set: using a random secret for this development process; \
                 its tokens end with it"
            );
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(bytes.as_mut());
            Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
        }
        None => Err(StartError::MissingSecret { var, app_var }),
    }
}

fn hmac_key(alg: Algorithm, secret: &Secret, var: &'static str) -> Result<JwsKey, StartError> {
    JwsKey::hmac(alg, secret.expose().as_bytes()).map_err(|e| match e {
        TokenError::WeakKey { len, .. } => StartError::WeakSecret { var, len },
        other => StartError::Tokens(other),
    })
}

/// The access key set of an asymmetric algorithm: the first file signs, the
/// others verify. A file is a JWK when it starts with `{`, else PEM.
fn key_files(alg: Algorithm, paths: &[String]) -> Result<KeySet, StartError> {
    let load = |path: &String| -> Result<JwsKey, StartError> {
        let bad = |reason: String| StartError::KeyFile { path: path.clone(), reason };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let key = if bytes.trim_ascii_start().starts_with(b"{") {
            let jwk: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
            JwsKey::from_jwk(&jwk, Some(alg))
        } else {
            JwsKey::from_pem(alg, &bytes)
        };
        key.map_err(|e| bad(e.to_string()))
    };
    let (first, rest) = paths.split_first().ok_or(StartError::NoKeyFiles(alg))?;
    let signing = load(first)?;
    if !signing.can_sign() {
        return Err(StartError::KeyFile {
            path: first.clone(),
            reason: "the first key signs, so it must be a private key".into(),
        });
    }
    let mut set = KeySet::new(signing).map_err(StartError::Tokens)?;
    for path in rest {
        let key = load(path)?;
        set.add_key(key)
            .map_err(|e| StartError::KeyFile { path: path.clone(), reason: e.to_string() })?;
    }
    let kids: Vec<&str> = set.keys().filter_map(JwsKey::kid).collect();
    tracing::info!(alg = %alg, ?kids, "access token keys loaded");
    Ok(set)
}

/// An origin is `scheme://host[:port]`: no path, query, wildcard or trailing slash.
fn check_origin(origin: &str) -> Result<(), StartError> {
    let bad = || StartError::Origin(origin.to_owned());
    let uri: Uri = origin.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let bare = uri.authority().is_some() && uri.path() == "/" && !origin.ends_with('/');
    if scheme_ok && bare && uri.query().is_none() {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The session store and the app's data store, on one backend.
fn store(
    section: &crate::settings::StoreSection,
    development: bool,
) -> Result<(AnyStore, AppData), StartError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let urls = |nodes: String| -> String {
        let urls: Vec<String> =
            nodes.split(',').map(|n| format!("redis://{}/", n.trim())).collect();
        urls.join(",")
    };
    let sentinel_nodes = nonempty(&section.redis_sentinel_nodes);
    let sentinel_master = nonempty(&section.redis_sentinel_master);
    if sentinel_nodes.is_some() != sentinel_master.is_some()
        && section.redis_cluster_nodes.is_none()
    {
        return Err(StartError::SentinelHalf);
    }
    let (url, cluster, sentinel_master) = if let Some(nodes) =
        nonempty(&section.redis_cluster_nodes)
    {
        (urls(nodes), true, None)
    } else if let (Some(nodes), Some(master)) = (sentinel_nodes, sentinel_master) {
        (urls(nodes), false, Some(master))
    } else if let Some(url) = nonempty(&section.redis_url) {
        // The Redis client reads `#insecure` as "skip the certificate check".
        if url.contains('#') {
            return Err(StartError::UrlFragment);
        }
        (url, false, None)
    } else if let Some(addr) = nonempty(&section.redis_addr) {
        (format!("redis://{addr}/"), false, None)
    } else {
        // Outside development the embedded store would lose every account
        // and session at each restart: only on request.
        if !development && !section.allow_embedded {
            return Err(StartError::NoSharedStore);
        }
        tracing::warn!(
            "REDIS_ADDR, REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINEL_NODES are not set: \
             using the embedded store; accounts, sessions and todos end when this process does \
             and are not shared with other instances"
        );
        if section.local_cache {
            tracing::warn!(
                "store.local_cache is ignored with the embedded store: it answers every check \
                 in memory already"
            );
        }
        return Ok((AnyStore::Memory(MemoryStore::new()), AppData::Memory(MemoryData::default())));
    };
    // The URL is the one REDIS_URL gave unless a Cluster or Sentinel won.
    let from_url = !cluster && sentinel_master.is_none() && nonempty(&section.redis_url).is_some();
    let local_cache = local_cache(section, cluster || sentinel_master.is_some())?;
    let config = RedisStoreConfig {
        url,
        cluster,
        sentinel_master: sentinel_master.clone(),
        key_prefix: section.key_prefix.clone(),
        pool_max_size: section.pool_max_size,
        timeout_ms: section.timeout_ms,
        local_cache: local_cache.clone(),
    };
    let store = RedisStore::new(&config).map_err(|error| match &error {
        StoreError::Config(_) if from_url => StartError::RedisUrl { cause: error.to_string() },
        _ => StartError::Store(error),
    })?;
    let redacted: Vec<String> = config.url.split(',').map(redact_url).collect();
    tracing::info!(
        redis = %redacted.join(","),
        cluster,
        sentinel_master = sentinel_master.as_deref().unwrap_or("-"),
        local_cache = local_cache.is_some(),
        "using the Redis store"
    );
    let data = AppData::Redis(RedisData::new(store.pool().clone(), &section.key_prefix));
    Ok((AnyStore::Redis(store), data))
}

/// The local cache settings, if it is on; refused where it cannot be kept
/// correct.
fn local_cache(
    section: &crate::settings::StoreSection,
    cluster_or_sentinel: bool,
) -> Result<Option<LocalCacheConfig>, StartError> {
    if !section.local_cache {
        return Ok(None);
    }
    if cluster_or_sentinel {
        return Err(StartError::LocalCacheMode);
    }
    // Their ranges are checked with every other number's (check_limits).
    Ok(Some(LocalCacheConfig {
        max_entries: section.local_cache_max_entries,
        max_age_ms: section.local_cache_max_age_ms,
        ..LocalCacheConfig::default()
    }))
}

/// The URL without its password, for logs.
pub(crate) fn redact_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let mut redacted = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &base[..scheme_end + 3], &base[at..])
        }
        _ => base.to_owned(),
    };
    // A Unix-socket URL carries its password as a query parameter.
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if matches!(key, "pass" | "password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_with(access: Option<&str>, refresh: Option<&str>) -> Settings {
        let mut settings = Settings::default();
        settings.store.allow_embedded = true;
        settings.tokens.access_secret = access.map(|s| Secret::new(s.to_owned()));
        settings.tokens.refresh_secret = refresh.map(|s| Secret::new(s.to_owned()));
        settings
    }

    const GOOD: &str = "0123456789abcdef0123456789abcdef";
    const OTHER: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn outside_development_the_secrets_must_differ_and_key_files_need_their_algorithm() {
        let err = prepare(settings_with(Some(GOOD), Some(GOOD)), "production").unwrap_err();
        assert!(matches!(err, StartError::SameSecrets), "{err}");
        assert!(prepare(settings_with(Some(GOOD), Some(GOOD)), "development").is_ok());

        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.tokens.access_key_files = vec!["keys/new.pem".into()];
        let err = prepare(settings, "development").unwrap_err();
        assert!(err.to_string().contains("set APP__TOKENS__ACCESS_ALGORITHM"), "{err}");
    }

    #[test]
    fn outside_development_the_embedded_store_is_only_on_request() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.allow_embedded = false;
        let err = prepare(settings, "production").unwrap_err();
        assert!(matches!(err, StartError::NoSharedStore), "{err}");
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.allow_embedded = false;
        assert!(prepare(settings, "development").is_ok());
    }

    #[test]
    fn production_refuses_a_missing_secret_naming_the_variable() {
        let err = prepare(settings_with(None, Some(GOOD)), "production").unwrap_err();
        assert!(err.to_string().starts_with("ACCESS_SECRET is not set"), "{err}");
    }

    #[test]
    fn a_short_secret_is_refused_naming_the_variable_in_any_environment() {
        for env in ["production", "development"] {
            let err = prepare(settings_with(Some(GOOD), Some("short")), env).unwrap_err();
            assert_eq!(
                err.to_string(),
                "REFRESH_SECRET is 5 bytes long; it needs at least 32 random bytes"
            );
        }
    }

    #[test]
    fn development_fills_in_missing_secrets_and_has_the_demo_user() {
        let prepared = prepare(settings_with(None, None), "development").unwrap();
        assert!(prepared.state.accounts.has_demo_user());
    }

    #[test]
    fn production_has_no_demo_user() {
        let prepared = prepare(settings_with(Some(GOOD), Some(OTHER)), "production").unwrap();
        assert!(!prepared.state.accounts.has_demo_user());
    }

    #[test]
    fn an_unknown_reuse_policy_is_refused_naming_the_key() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.refresh.on_reuse = "shrug".into();
        let err = prepare(settings, "production").unwrap_err();
        assert!(err.to_string().starts_with("refresh.on_reuse (APP__REFRESH__ON_REUSE)"), "{err}");
    }

    #[test]
    fn idle_lifetime_defaults_to_the_refresh_lifetime() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.tokens.refresh_ttl_secs = 1234;
        let prepared = prepare(settings, "production").unwrap();
        assert_eq!(prepared.state.sessions.lifetime.idle_secs, 1234);
        assert_eq!(prepared.state.sessions.lifetime.absolute_secs, 30 * 86_400);
    }

    #[test]
    fn an_asymmetric_algorithm_without_key_files_is_refused_naming_the_key() {
        let mut settings = settings_with(None, Some(GOOD));
        settings.tokens.access_algorithm = "ES256".into();
        let err = prepare(settings, "production").unwrap_err();
        assert!(err.to_string().contains("APP__TOKENS__ACCESS_KEY_FILES"), "{err}");
    }

    #[test]
    fn a_key_file_of_the_wrong_type_is_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("todo-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hmac.jwk.json");
        let jwk = r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}"#;
        std::fs::write(&path, jwk).unwrap();
        let mut settings = settings_with(None, Some(GOOD));
        settings.tokens.access_algorithm = "RS256".into();
        settings.tokens.access_key_files = vec![path.display().to_string()];

        let err = prepare(settings, "production").unwrap_err();

        let _ = std::fs::remove_dir_all(&dir);
        let expected = format!("access key file {}", path.display());
        assert!(err.to_string().starts_with(&expected), "{err}");
    }

    #[test]
    fn an_unknown_algorithm_is_refused() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.tokens.access_algorithm = "none".into();
        assert!(matches!(prepare(settings, "production"), Err(StartError::Algorithm(_))));
    }

    #[test]
    fn origins_must_be_bare_scheme_and_host() {
        for good in ["http://localhost:5173", "https://app.example.com"] {
            assert!(check_origin(good).is_ok(), "{good}");
        }
        for bad in
            ["*", "localhost:5173", "https://app.example.com/", "https://a.example/x", "ftp://a"]
        {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_local_cache_is_refused_with_cluster_or_sentinel() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.local_cache = true;
        settings.store.redis_cluster_nodes = Some("127.0.0.1:7000".into());
        let err = prepare(settings, "production").unwrap_err();
        assert!(err.to_string().contains("APP__STORE__LOCAL_CACHE"), "{err}");

        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.local_cache = true;
        settings.store.redis_sentinel_nodes = Some("127.0.0.1:26379".into());
        settings.store.redis_sentinel_master = Some("todo".into());
        assert!(matches!(prepare(settings, "production"), Err(StartError::LocalCacheMode)));
    }

    #[test]
    fn an_empty_local_cache_is_refused_naming_the_keys() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.local_cache = true;
        settings.store.redis_addr = Some("127.0.0.1:6379".into());
        settings.store.local_cache_max_entries = 0;
        let err = prepare(settings, "production").unwrap_err();
        assert!(err.to_string().contains("APP__STORE__LOCAL_CACHE_MAX_ENTRIES"), "{err}");
    }

    #[test]
    fn the_local_cache_is_ignored_with_the_embedded_store() {
        let mut settings = settings_with(Some(GOOD), Some(OTHER));
        settings.store.local_cache = true;
        let prepared = prepare(settings, "production").unwrap();
        assert_eq!(prepared.state.store.backend(), "memory");
    }

    #[test]
    fn redis_passwords_are_not_logged() {
        assert_eq!(redact_url("redis://user:hunter2@db:6379/0"), "redis://***@db:6379/0");
        assert_eq!(redact_url("redis://db:6379/"), "redis://db:6379/");
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock?db=2&pass=hunter2&user=app"),
            "redis+unix:///run/redis.sock?db=2&pass=***&user=app"
        );
        assert_eq!(redact_url("unix:///s.sock?password=hunter2"), "unix:///s.sock?password=***");
        assert_eq!(redact_url("redis://a:b@db/?protocol=resp3"), "redis://***@db/?protocol=resp3");
    }
}
