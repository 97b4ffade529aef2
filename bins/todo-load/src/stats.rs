//! Answers counted by route and status, latencies, transport errors and
//! answers that were not the expected ones. Each virtual user keeps its own
//! and they are merged at the end, so counting takes no lock.

use std::collections::BTreeMap;
use std::time::Duration;

/// How many example messages of each kind are kept for the report.
const MAX_EXAMPLES: usize = 10;

/// A route as the report names it (`POST /todo`, `GET /todos/{id}`).
pub(crate) type Route = &'static str;

/// Everything counted in one phase.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    answers: BTreeMap<(Route, u16), u64>,
    latencies_us: BTreeMap<Route, Vec<u32>>,
    transport: BTreeMap<Route, u64>,
    unexpected: u64,
    examples: Vec<String>,
}

/// Latency percentiles of one route, in milliseconds.
#[derive(Debug)]
pub(crate) struct Percentiles {
    pub(crate) count: usize,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Stats {
    /// An HTTP answer came back.
    pub(crate) fn answer(&mut self, route: Route, status: u16, latency: Duration) {
        *self.answers.entry((route, status)).or_default() += 1;
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.entry(route).or_default().push(micros);
    }

    /// The request failed below HTTP: refused, reset, timed out.
    pub(crate) fn transport_error(&mut self, route: Route, error: reqwest::Error) {
        *self.transport.entry(route).or_default() += 1;
        // The URL adds nothing the route does not say.
        self.example(format!("{route}: transport error: {}", error.without_url()));
    }

    /// An answer that the flow did not expect (`POST /todo` -> 401, a read
    /// that does not match what was written, ...).
    pub(crate) fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        self.example(what);
    }

    fn example(&mut self, message: String) {
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(message);
        }
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn merge(&mut self, other: Stats) {
        for (key, count) in other.answers {
            *self.answers.entry(key).or_default() += count;
        }
        for (route, mut latencies) in other.latencies_us {
            self.latencies_us.entry(route).or_default().append(&mut latencies);
        }
        for (route, count) in other.transport {
            *self.transport.entry(route).or_default() += count;
        }
        self.unexpected += other.unexpected;
        for example in other.examples {
            self.example(example);
        }
    }

    /// Count of every (route, status) seen.
    pub(crate) fn answers(&self) -> &BTreeMap<(Route, u16), u64> {
        &self.answers
    }

    /// Transport errors by route.
    pub(crate) fn transport(&self) -> &BTreeMap<Route, u64> {
        &self.transport
    }

    /// All HTTP answers.
    pub(crate) fn total_answers(&self) -> u64 {
        self.answers.values().sum()
    }

    /// Answers with a 5xx status.
    pub(crate) fn server_errors(&self) -> u64 {
        self.answers.iter().filter(|((_, status), _)| *status >= 500).map(|(_, n)| n).sum()
    }

    /// All transport errors.
    pub(crate) fn transport_errors(&self) -> u64 {
        self.transport.values().sum()
    }

    /// Answers that were not the expected ones.
    pub(crate) fn unexpected_count(&self) -> u64 {
        self.unexpected
    }

    /// A few of the unexpected answers and transport errors, as text.
    pub(crate) fn examples(&self) -> &[String] {
        &self.examples
    }

    /// Latency percentiles per route, sorting the samples in place.
    pub(crate) fn percentiles(&mut self) -> Vec<(Route, Percentiles)> {
        self.latencies_us
            .iter_mut()
            .filter(|(_, samples)| !samples.is_empty())
            .map(|(route, samples)| {
                samples.sort_unstable();
                let at = |q: f64| {
                    let rank = ((q * samples.len() as f64).ceil() as usize).max(1);
                    f64::from(samples[rank.min(samples.len()) - 1]) / 1000.0
                };
                let p = Percentiles {
                    count: samples.len(),
                    p50: at(0.50),
                    p90: at(0.90),
                    p99: at(0.99),
                    max: at(1.0),
                };
                (*route, p)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut stats = Stats::default();
        for ms in 1..=100 {
            stats.answer("GET /todos", 200, Duration::from_millis(ms));
        }
        stats.answer("POST /todo", 503, Duration::from_millis(7));
        let percentiles = stats.percentiles();
        let (_, todos) = percentiles.iter().find(|(r, _)| *r == "GET /todos").unwrap();
        assert_eq!((todos.count, todos.p50, todos.p90, todos.p99), (100, 50.0, 90.0, 99.0));
        assert_eq!(todos.max, 100.0);
        assert_eq!(stats.server_errors(), 1);
        assert_eq!(stats.total_answers(), 101);
    }

    #[test]
    fn merging_adds_counts_and_keeps_few_examples() {
        let mut all = Stats::default();
        for _ in 0..3 {
            let mut one = Stats::default();
            one.answer("POST /login", 200, Duration::from_millis(1));
            for i in 0..5 {
                one.unexpected(format!("case {i}"));
            }
            all.merge(one);
        }
        assert_eq!(all.answers()[&("POST /login", 200)], 3);
        assert_eq!(all.unexpected_count(), 15);
        assert_eq!(all.examples().len(), MAX_EXAMPLES);
    }
}
