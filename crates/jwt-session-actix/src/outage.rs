//! Logging of store failures that stays readable while the store is down.
//!
//! During an outage every request fails the same way; one error line per
//! request would bury everything else in the log. The first failure is logged
//! at error, then at most one line a second, each saying how many failures
//! it stands for; the failures in between go to debug.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error_chain;

/// Shortest time between two error lines about the store.
const ERROR_LINE_EVERY: Duration = Duration::from_secs(1);

/// The one window shared by every worker of the process.
static STORE_FAILURES: Window = Window::new(ERROR_LINE_EVERY);

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

/// Decides which failures get an error line.
#[derive(Debug)]
struct Window {
    every: Duration,
    /// When the last error line was written, and the failures since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Window {
    const fn new(every: Duration) -> Self {
        Self { every, state: Mutex::new((None, 0)) }
    }

    /// `Some(failures not logged at error since the last line)` when this
    /// failure, at `now`, gets an error line; `None` when it does not.
    fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, suppressed) = &mut *state;
        let due = last.is_none_or(|at| now.saturating_duration_since(at) >= self.every);
        if due {
            *last = Some(now);
            Some(std::mem::take(suppressed))
        } else {
            *suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_logged_then_one_a_window_with_the_count_between() {
        let window = Window::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(window.admit(start), Some(0));
        for ms in 1..1000 {
            assert_eq!(window.admit(start + Duration::from_millis(ms)), None, "{ms} ms");
        }
        assert_eq!(window.admit(start + Duration::from_millis(1000)), Some(999));
        assert_eq!(window.admit(start + Duration::from_millis(1001)), None);
        assert_eq!(window.admit(start + Duration::from_secs(60)), Some(1));
    }

    #[test]
    fn a_clock_read_out_of_order_does_not_open_the_window() {
        let window = Window::new(Duration::from_secs(1));
        let start = Instant::now() + Duration::from_secs(5);
        assert_eq!(window.admit(start), Some(0));
        assert_eq!(window.admit(start - Duration::from_millis(10)), None);
    }
}
