//! The server's resident memory over the run, read from
//! `/proc/<pid>/status` (`VmRSS`), and whether it stayed flat.
//!
//! Samples taken during the warm-up (allocator arenas, connection pools and
//! caches filling) are kept in the report but not compared. The rest of the
//! timed phase is cut into two halves of equal time; the run is flat when
//! the second half's mean is within the tolerance of the first half's. A
//! leak grows with the requests served, so the second half, which serves as
//! many requests as the first, would sit above it by that much again.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// Fewest samples per half for a verdict.
const MIN_SAMPLES_PER_HALF: usize = 3;

/// One reading.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// Since the start of the timed phase.
    pub(crate) at: Duration,
    pub(crate) rss_kib: u64,
}

/// The readings of one run, or why they stopped.
#[derive(Debug)]
pub(crate) struct Samples {
    pub(crate) before: u64,
    pub(crate) samples: Vec<Sample>,
    pub(crate) interval: Duration,
    pub(crate) failure: Option<String>,
}

/// Mean and maximum of one half, in KiB.
#[derive(Debug)]
pub(crate) struct Half {
    pub(crate) from: Duration,
    pub(crate) to: Duration,
    pub(crate) count: usize,
    pub(crate) mean_kib: f64,
    pub(crate) max_kib: u64,
}

/// The comparison of the two halves.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub(crate) first: Half,
    pub(crate) second: Half,
    /// Second-half mean over first-half mean, minus one, in percent.
    pub(crate) growth_pct: f64,
    pub(crate) flat: bool,
}

/// Current `VmRSS` of `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("{path} has no VmRSS line"))
}

/// Samples `pid` every `interval` from `start` until `end`, in a task.
pub(crate) fn sample(
    pid: u32,
    start: Instant,
    end: Instant,
    interval: Duration,
) -> Result<JoinHandle<Samples>, String> {
    let before = rss_kib(pid)?;
    Ok(tokio::spawn(async move {
        let mut samples = Samples { before, samples: Vec::new(), interval, failure: None };
        let mut ticks = tokio::time::interval_at((start + interval).into(), interval);
        loop {
            let tick = ticks.tick().await;
            if tick.into_std() > end {
                break;
            }
            match rss_kib(pid) {
                Ok(rss_kib) => samples.samples.push(Sample { at: start.elapsed(), rss_kib }),
                Err(error) => {
                    samples.failure = Some(format!("the server stopped being measurable: {error}"));
                    break;
                }
            }
        }
        samples
    }))
}

/// The sampling interval for a run of `duration`: about 120 samples,
/// between 100 ms and 5 s apart.
pub(crate) fn interval_for(duration: Duration) -> Duration {
    (duration / 120).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

impl Samples {
    /// Compares the halves after `warmup` of a phase of `duration`; `None`
    /// when a half has too few samples to say anything.
    pub(crate) fn verdict(
        &self,
        warmup: Duration,
        duration: Duration,
        tolerance_pct: f64,
    ) -> Option<Verdict> {
        let middle = warmup + (duration - warmup) / 2;
        let first = half(&self.samples, warmup, middle)?;
        let second = half(&self.samples, middle, duration + self.interval)?;
        let growth_pct = (second.mean_kib / first.mean_kib - 1.0) * 100.0;
        let flat = growth_pct <= tolerance_pct;
        Some(Verdict { first, second, growth_pct, flat })
    }
}

fn half(samples: &[Sample], from: Duration, to: Duration) -> Option<Half> {
    let inside: Vec<u64> =
        samples.iter().filter(|s| s.at >= from && s.at < to).map(|s| s.rss_kib).collect();
    if inside.len() < MIN_SAMPLES_PER_HALF {
        return None;
    }
    let mean_kib = inside.iter().sum::<u64>() as f64 / inside.len() as f64;
    let max_kib = inside.iter().copied().max().unwrap_or(0);
    Some(Half { from, to, count: inside.len(), mean_kib, max_kib })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[u64]) -> Samples {
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, &rss_kib)| Sample { at: Duration::from_secs(i as u64 + 1), rss_kib })
            .collect();
        Samples { before: 1000, samples, interval: Duration::from_secs(1), failure: None }
    }

    #[test]
    fn warm_up_growth_is_not_compared() {
        let run = samples(&[100, 500, 1000, 1010, 1000, 1005, 1010, 1000, 1004, 1008, 1002]);
        let verdict = run.verdict(Duration::from_secs(3), Duration::from_secs(11), 10.0).unwrap();
        assert_eq!(verdict.first.count, 4);
        assert_eq!(verdict.second.count, 5);
        assert!(verdict.flat, "{verdict:?}");
    }

    #[test]
    fn steady_growth_is_not_flat() {
        let run = samples(&[1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900]);
        let verdict = run.verdict(Duration::from_secs(1), Duration::from_secs(10), 10.0).unwrap();
        assert!(!verdict.flat, "{verdict:?}");
        assert!(verdict.growth_pct > 20.0);
    }

    #[test]
    fn too_few_samples_give_no_verdict() {
        let run = samples(&[1000, 1000, 1000]);
        assert!(run.verdict(Duration::ZERO, Duration::from_secs(3), 10.0).is_none());
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
