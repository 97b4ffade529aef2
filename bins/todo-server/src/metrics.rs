//! Prometheus metrics: names, labels, and the `GET /metrics` listener.
//!
//! Handlers record through the `metrics` facade (cheap no-ops until
//! [`install`] runs); the Prometheus recorder is installed only when
//! `metrics.listen_addr` is set, and its text is served on that address
//! alone, never on the public API.

use actix_web::{web, HttpResponse};
use jwt_session_store::AnyStore;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `method`, `route` (the pattern, such as
/// `/todos/{id}`, or `unmatched`) and `status`.
pub(crate) const HTTP_REQUESTS: &str = "http_requests_total";
/// Request latency in seconds, labelled as [`HTTP_REQUESTS`].
pub(crate) const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Logins by `outcome`: `succeeded`, `failed`, `throttled`.
pub(crate) const LOGINS: &str = "auth_logins_total";
/// Refreshes by `outcome`: `rotated`, `grace_replay`, `reused`, `expired`,
/// `invalid`, `revoked`, `missing`.
pub(crate) const REFRESHES: &str = "auth_refreshes_total";
/// Sessions ended, by `reason`: `logout`, `session_end`, `logout_others`,
/// `logout_all`, `reuse`.
pub(crate) const REVOCATIONS: &str = "auth_session_revocations_total";
/// Redis connections of the pool, by `state`: `in_use`, `idle`, `max`.
const POOL_CONNECTIONS: &str = "jwt_session_store_pool_connections";
/// Tokens in the local cache of live tokens, when it is on.
const LOCAL_CACHE_ENTRIES: &str = "jwt_session_store_local_cache_entries";

/// Buckets of the latency histograms, in seconds.
const LATENCY_BUCKETS: [f64; 12] =
    [0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Counts one login outcome.
pub(crate) fn login(outcome: &'static str) {
    metrics::counter!(LOGINS, "outcome" => outcome).increment(1);
}

/// Counts one refresh outcome.
pub(crate) fn refresh(outcome: &'static str) {
    metrics::counter!(REFRESHES, "outcome" => outcome).increment(1);
}

/// Counts `sessions` ended for `reason`.
pub(crate) fn revoked(reason: &'static str, sessions: u64) {
    metrics::counter!(REVOCATIONS, "reason" => reason).increment(sessions);
}

/// The `method` label: a method of RFC 9110 (or PATCH), else `other`, so
/// that clients inventing methods cannot grow the label set.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] =
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or("other")
}

/// Counts one answered request and its latency.
pub(crate) fn request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(seconds);
}

/// Installs the Prometheus recorder for this process.
///
/// # Errors
///
/// When a recorder is already installed or the buckets are refused.
pub(crate) fn install() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())
}

/// What the metrics listener needs.
#[derive(Clone)]
pub(crate) struct Exporter {
    pub(crate) handle: PrometheusHandle,
    pub(crate) store: AnyStore,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("store", &self.store.backend()).finish_non_exhaustive()
    }
}

/// `GET /metrics` on the metrics listener: the pool gauges are read at
/// scrape time, then everything is rendered as Prometheus text.
pub(crate) async fn scrape(exporter: web::Data<Exporter>) -> HttpResponse {
    if let AnyStore::Redis(store) = &exporter.store {
        let status = store.pool().status();
        metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(status.in_use() as f64);
        metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(status.available as f64);
        metrics::gauge!(POOL_CONNECTIONS, "state" => "max").set(status.max_size as f64);
        if let Some(cache) = store.local_cache_status() {
            metrics::gauge!(LOCAL_CACHE_ENTRIES).set(cache.entries as f64);
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(exporter.handle.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("XXXXXXXX1"), "other");
        assert_eq!(method_label("get"), "other");
    }
}
