//! Logging of store failures that stays readable while the store is down.
//!
//! During an outage every request fails the same way; one error line per
//! request would bury everything else in the log. The first failure is logged
//! at error, then at most one line a second, each saying how many failures
//! it stands for; the failures in between go to debug.

use std::time::Instant;

use crate::error_chain;
use crate::log_rate::LogRate;

/// The one rate shared by every worker of the process.
static STORE_FAILURES: LogRate = LogRate::every_second();

/// Logs a request (to `path`, when known) refused because the session store
/// failed: at error for the first failure and then at most once a second
/// (with `suppressed`, the failures since the last error line), at debug
/// otherwise. [`JwtAuth`](crate::JwtAuth) logs its failures with it; an
/// application logs its own with it too, so that both share one rate.
pub fn log_store_failure(path: Option<&str>, cause: &dyn std::error::Error) {
    let error = error_chain(cause);
    match STORE_FAILURES.admit(Instant::now()) {
        Some(suppressed) => {
            tracing::error!(path, error, suppressed, "session store unavailable; request refused");
        }
        None => tracing::debug!(path, error, "session store unavailable; request refused"),
    }
}
