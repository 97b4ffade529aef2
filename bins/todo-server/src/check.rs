//! `todo-server --check-config`: load and validate the configuration, reach
//! Redis, and print what the server would run with, secrets masked.

use std::fmt::Write as _;

use std::time::{Duration, Instant};

use jwt_session_store::{AnyStore, RedisStore, SessionStore};

use crate::settings::{Secret, Settings};
use crate::startup::{self, redact_url, StartError};

/// Why the check failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error("{0}")]
    Start(#[from] StartError),
    #[error("the session store does not answer ({store}): {cause}")]
    Unreachable { store: String, cause: String },
    #[error(
        "store.local_cache is on but Redis invalidation tracking cannot be set up: {0} (it needs \
         Redis 6 or later and the CLIENT, HELLO and PING commands)"
    )]
    Tracking(String),
}

/// Validates `settings` as the server would at start-up, then pings the
/// store; returns the report to print.
pub(crate) async fn run(settings: Settings, app_env: &str) -> Result<String, CheckError> {
    let report = describe(&settings, app_env);
    let store_line = store_summary(&settings);
    let prepared = startup::prepare(settings, app_env)?;
    if let Err(cause) = prepared.state.store.ping().await {
        return Err(CheckError::Unreachable {
            store: store_line,
            cause: jwt_session_actix::error_chain(&cause),
        });
    }
    let mut cache_line = "";
    if let AnyStore::Redis(store) = &prepared.state.store {
        if store.local_cache_status().is_some() {
            local_cache_tracks(store).await?;
            cache_line = "; the local token cache tracks invalidations";
        }
    }
    Ok(format!("{report}configuration ok; the session store answers{cache_line}\n"))
}

/// Waits up to 3 s for the local cache's tracking to be set up.
async fn local_cache_tracks(store: &RedisStore) -> Result<(), CheckError> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let status = store.local_cache_status();
        match status {
            Some(status) if status.tracking => return Ok(()),
            Some(status) if Instant::now() >= deadline => {
                let cause = status.last_error.unwrap_or_else(|| "no answer in 3 s".into());
                return Err(CheckError::Tracking(cause));
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The effective configuration, one `key = value` a line, secrets masked.
fn describe(settings: &Settings, app_env: &str) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{key} = {value}");
    };
    line("app_env", &app_env);
    line("server.listen_addr", &settings.server.listen_addr);
    line("server.frontend_origin", &settings.server.frontend_origin);
    line("server.max_body_bytes", &settings.server.max_body_bytes);
    line("server.shutdown_timeout_secs", &settings.server.shutdown_timeout_secs);
    line("tokens.issuer", &settings.tokens.issuer);
    line("tokens.audience", &settings.tokens.audience);
    line("tokens.access_algorithm", &settings.tokens.access_algorithm);
    line("tokens.access_key_files", &settings.tokens.access_key_files.join(","));
    line("tokens.access_secret", &mask(settings.tokens.access_secret.as_ref()));
    line("tokens.refresh_secret", &mask(settings.tokens.refresh_secret.as_ref()));
    line("tokens.access_ttl_secs", &settings.tokens.access_ttl_secs);
    line("tokens.refresh_ttl_secs", &settings.tokens.refresh_ttl_secs);
    line("tokens.leeway_secs", &settings.tokens.leeway_secs);
    line("tokens.max_token_bytes", &settings.tokens.max_token_bytes);
    line("refresh.grace_secs", &settings.refresh.grace_secs);
    line("refresh.on_reuse", &settings.refresh.on_reuse);
    let lifetime = startup::session_lifetime(settings);
    line("sessions.idle_ttl_secs", &lifetime.idle_secs);
    line("sessions.absolute_ttl_secs", &lifetime.absolute_secs);
    line("sessions.max_per_user", &settings.sessions.max_per_user);
    line("todos.max_per_user", &settings.todos.max_per_user);
    line("cookies.secure", &settings.cookies.secure);
    line("accounts.registration", &settings.accounts.registration);
    line("login.max_failures_per_user", &settings.login.max_failures_per_user);
    line("login.max_failures_per_ip", &settings.login.max_failures_per_ip);
    line("login.window_secs", &settings.login.window_secs);
    line("csrf.require_origin", &settings.csrf.require_origin);
    line("store", &store_summary(settings));
    line("store.key_prefix", &settings.store.key_prefix);
    line("store.allow_embedded", &settings.store.allow_embedded);
    line("store.pool_max_size", &settings.store.pool_max_size);
    line("store.timeout_ms", &settings.store.timeout_ms);
    line("store.local_cache", &settings.store.local_cache);
    line("store.local_cache_max_entries", &settings.store.local_cache_max_entries);
    line("store.local_cache_max_age_ms", &settings.store.local_cache_max_age_ms);
    line("metrics.listen_addr", &settings.metrics.listen_addr.as_deref().unwrap_or("off"));
    let web = match settings.web.enabled {
        Some(on) => on.to_string(),
        None => format!("{} (APP_ENV={app_env})", app_env == "development"),
    };
    line("web.enabled", &web);
    out
}

/// A set secret shows only its length.
fn mask(secret: Option<&Secret>) -> String {
    match secret {
        Some(secret) => format!("******** ({} bytes)", secret.expose().len()),
        None => "(not set)".to_owned(),
    }
}

/// Which store, and where, passwords removed from URLs.
fn store_summary(settings: &Settings) -> String {
    let store = &settings.store;
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.trim().is_empty()).map(str::to_owned);
    if let Some(nodes) = set(&store.redis_cluster_nodes) {
        format!("redis cluster {nodes}")
    } else if let (Some(nodes), Some(master)) =
        (set(&store.redis_sentinel_nodes), set(&store.redis_sentinel_master))
    {
        format!("redis sentinel {nodes} master {master}")
    } else if let Some(url) = set(&store.redis_url) {
        format!("redis {}", redact_url(&url))
    } else if let Some(addr) = set(&store.redis_addr) {
        format!("redis redis://{addr}/")
    } else {
        "embedded (sessions end with the process)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_the_report() {
        let mut settings = Settings::default();
        settings.tokens.access_secret =
            Some(Secret::new("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".into()));
        let report = describe(&settings, "production");
        assert!(!report.contains("s3cr3t"), "{report}");
        assert!(report.contains("tokens.access_secret = ******** (34 bytes)"), "{report}");
        assert!(report.contains("tokens.refresh_secret = (not set)"), "{report}");
    }

    #[test]
    fn redis_passwords_are_masked_in_the_report() {
        let mut settings = Settings::default();
        settings.store.redis_url = Some("redis://app:hunter2@db:6379/0".into());
        assert_eq!(store_summary(&settings), "redis redis://***@db:6379/0");
    }
}
