//! A rate for log lines that any client can cause.
//!
//! A refusal that a request provokes (a store outage, a cross-site form, a
//! forged token) would otherwise write one line per request: a client, or an
//! outage, could bury everything else in the log. Each kind gets a
//! [`LogRate`]: its first event is logged at its level, then at most one a
//! second, each saying how many events it stands for; the ones in between go
//! to debug.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Decides which events of one kind get a line at their own level.
#[derive(Debug)]
pub(crate) struct LogRate {
    every: Duration,
    /// When the last line was written, and the events since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogRate {
    /// At most one line a second.
    pub(crate) const fn every_second() -> Self {
        Self::new(Duration::from_secs(1))
    }

    const fn new(every: Duration) -> Self {
        Self { every, state: Mutex::new((None, 0)) }
    }

    /// `Some(events not logged at their level since the last line)` when
    /// this event, at `now`, gets a line; `None` when it goes to debug.
    pub(crate) fn admit(&self, now: Instant) -> Option<u64> {
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
        let window = LogRate::new(Duration::from_secs(1));
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
        let window = LogRate::new(Duration::from_secs(1));
        let start = Instant::now() + Duration::from_secs(5);
        assert_eq!(window.admit(start), Some(0));
        assert_eq!(window.admit(start - Duration::from_millis(10)), None);
    }
}
