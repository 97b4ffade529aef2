//! The Markdown report and the list of checks that decide the exit status.

use std::fmt::Write as _;
use std::time::Duration;

use crate::args::Args;
use crate::memory::{Samples, Verdict};
use crate::stats::Stats;
use crate::verify::Findings;

/// Everything a run produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) users: usize,
    pub(crate) registered: usize,
    pub(crate) elapsed: Duration,
    /// The timed phase did not end within its bound plus one request timeout.
    pub(crate) overran: bool,
    pub(crate) load: Stats,
    /// `None` when the verification did not finish within its bound.
    pub(crate) findings: Option<Findings>,
    pub(crate) memory: Option<Samples>,
}

/// One pass/fail line.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) expected: String,
    pub(crate) actual: String,
    pub(crate) passed: bool,
}

fn check(
    name: &'static str,
    expected: impl ToString,
    actual: impl ToString,
    passed: bool,
) -> Check {
    Check { name, expected: expected.to_string(), actual: actual.to_string(), passed }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

impl Run {
    /// The server's memory verdict, if it was sampled enough.
    fn memory_verdict(&self, args: &Args) -> Option<Verdict> {
        self.memory.as_ref()?.verdict(args.warmup, args.duration, args.rss_tolerance_pct)
    }

    /// Every check of the run, in report order.
    pub(crate) fn checks(&self, args: &Args) -> Vec<Check> {
        let mut checks = vec![
            check("timed phase ended in time", "yes", yes(!self.overran), !self.overran),
            check("users registered", self.users, self.registered, self.registered == self.users),
        ];
        let Some(found) = &self.findings else {
            checks.push(check("verification finished in time", "yes", "no", false));
            return checks;
        };
        let server_errors = self.load.server_errors() + found.stats.server_errors();
        let transport = self.load.transport_errors() + found.stats.transport_errors();
        let unexpected = self.load.unexpected_count() + found.stats.unexpected_count();
        checks.extend([
            check("todos acknowledged (201)", "> 0", found.acknowledged, found.acknowledged > 0),
            check(
                "acknowledged todos read back with their title",
                found.acknowledged,
                found.read_back,
                found.read_back == found.acknowledged,
            ),
            check("lost writes (404 on read-back)", 0, found.lost, found.lost == 0),
            check("todos read back with another title", 0, found.changed, found.changed == 0),
            check(
                "users whose todo total is below their acknowledged writes",
                0,
                found.short_lists,
                found.short_lists == 0,
            ),
            check(
                "users that could not log in to be verified",
                0,
                found.unverified_users,
                found.unverified_users == 0,
            ),
            check("sessions logged out", "> 0", found.logged_out, found.logged_out > 0),
            check(
                "logged-out access tokens refused (401)",
                found.logged_out,
                found.access_refused,
                found.access_refused == found.logged_out,
            ),
            check(
                "logged-out refresh tokens refused (401)",
                found.logged_out,
                found.refresh_refused,
                found.refresh_refused == found.logged_out,
            ),
            check("5xx answers (run and verification)", 0, server_errors, server_errors == 0),
            check("transport errors", 0, transport, transport == 0),
            check("other unexpected answers", 0, unexpected, unexpected == 0),
        ]);
        if let Some(samples) = &self.memory {
            let failure = samples.failure.clone();
            checks.push(check(
                "server measurable throughout",
                "yes",
                failure.unwrap_or_else(|| "yes".into()),
                samples.failure.is_none(),
            ));
            let tolerance = format!("<= +{}%", args.rss_tolerance_pct);
            checks.push(match self.memory_verdict(args) {
                Some(v) => check(
                    "server RSS, second half vs first half (mean)",
                    tolerance,
                    format!("{:+.1}%", v.growth_pct),
                    v.flat,
                ),
                None => check("server RSS compared", "yes", "too few samples", false),
            });
        }
        checks
    }

    /// The report, Markdown, starting at level-2 headings.
    pub(crate) fn markdown(&mut self, args: &Args) -> String {
        let checks = self.checks(args);
        let passed = checks.iter().all(|c| c.passed);
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64();
        let requests = self.load.total_answers();

        let _ = writeln!(out, "## Verdict\n");
        let _ = writeln!(out, "**{}**\n", if passed { "PASS" } else { "FAIL" });
        let _ = writeln!(out, "| check | expected | result | |\n| --- | --- | --- | --- |");
        for c in &checks {
            let mark = if c.passed { "ok" } else { "FAILED" };
            let _ = writeln!(out, "| {} | {} | {} | {mark} |", c.name, c.expected, c.actual);
        }

        let _ = writeln!(out, "\n## Timed phase\n");
        let _ = writeln!(out, "| | |\n| --- | --- |");
        let _ = writeln!(out, "| virtual users | {} |", args.users);
        let _ = writeln!(out, "| requests in flight at most | {} |", args.concurrency);
        let _ = writeln!(out, "| duration asked | {:.1} s |", args.duration.as_secs_f64());
        let _ = writeln!(out, "| duration taken (with the final logouts) | {secs:.1} s |");
        let _ = writeln!(out, "| seed | {} |", args.seed);
        let _ = writeln!(out, "| HTTP answers | {requests} |");
        let _ = writeln!(out, "| answers per second | {:.0} |", requests as f64 / secs.max(0.001));
        let _ = writeln!(out, "| transport errors | {} |", self.load.transport_errors());
        let _ = writeln!(out, "| 5xx answers | {} |", self.load.server_errors());
        let _ = writeln!(out, "\nEach user draws its next step: create a todo 45 %, list 20 %, read one of its todos back 15 %, mark one done 5 %, refresh 10 %, log out and log in again (switching between cookies and tokens in the body) 5 %. Even users start with cookies, odd ones with Bearer tokens.");

        let _ = writeln!(out, "\n### Answers by route and status\n");
        write_answers(&mut out, &self.load);
        let _ = writeln!(out, "\n### Latency by route (ms)\n");
        write_latencies(&mut out, &mut self.load);

        let _ = writeln!(out, "\n## Verification\n");
        match &mut self.findings {
            Some(found) => {
                let _ = writeln!(out, "Every todo answered 201 is read back by id after the timed phase (each user logs in afresh); each user's `GET /todos` total is compared with its acknowledged writes ({} users above it: a create whose answer was lost in transit); every session logged out during the run presents its access token to `GET /todos` and its refresh token to `POST /token/refresh`, each the way it was used (cookies or Bearer and body).\n", found.long_lists);
                write_answers(&mut out, &found.stats);
                let _ = writeln!(out);
                write_latencies(&mut out, &mut found.stats);
            }
            None => {
                let _ = writeln!(
                    out,
                    "Did not finish within {:.0} s.",
                    args.verify_timeout.as_secs_f64()
                );
            }
        }

        let examples: Vec<&String> = self
            .load
            .examples()
            .iter()
            .chain(self.findings.iter().flat_map(|f| f.stats.examples()))
            .collect();
        if !examples.is_empty() {
            let _ = writeln!(out, "\n### Unexpected answers (first ones)\n");
            for example in examples {
                let _ = writeln!(out, "- {example}");
            }
        }

        let _ = writeln!(out, "\n## Server memory (VmRSS)\n");
        self.write_memory(&mut out, args);
        out
    }

    fn write_memory(&self, out: &mut String, args: &Args) {
        let Some(samples) = &self.memory else {
            let _ = writeln!(out, "Not measured (no `--server-pid`).");
            return;
        };
        let _ = writeln!(
            out,
            "Sampled every {} ms from `/proc/<pid>/status`. The first {:.0} s are warm-up, shown but not compared; the rest is cut into two halves of equal time. Flat means the second half's mean is at most {}% above the first half's: a leak grows with the requests served, and the second half serves about as many as the first, so a leak of even 100 bytes per request would show as several MiB; the tolerance leaves room for the allocator keeping freed memory for reuse.\n",
            samples.interval.as_millis(),
            args.warmup.as_secs_f64(),
            args.rss_tolerance_pct,
        );
        let _ = writeln!(out, "| | samples | mean | max |\n| --- | --- | --- | --- |");
        let _ = writeln!(out, "| before the run | 1 | {} | |", mib(samples.before as f64));
        let warm: Vec<u64> =
            samples.samples.iter().filter(|s| s.at < args.warmup).map(|s| s.rss_kib).collect();
        if !warm.is_empty() {
            let mean = warm.iter().sum::<u64>() as f64 / warm.len() as f64;
            let max = warm.iter().copied().max().unwrap_or(0);
            let _ =
                writeln!(out, "| warm-up | {} | {} | {} |", warm.len(), mib(mean), mib(max as f64));
        }
        match self.memory_verdict(args) {
            Some(v) => {
                for (name, half) in [("first half", &v.first), ("second half", &v.second)] {
                    let _ = writeln!(
                        out,
                        "| {name} ({:.0}–{:.0} s) | {} | {} | {} |",
                        half.from.as_secs_f64(),
                        half.to.as_secs_f64().min(args.duration.as_secs_f64()),
                        half.count,
                        mib(half.mean_kib),
                        mib(half.max_kib as f64),
                    );
                }
                let _ = writeln!(
                    out,
                    "\nSecond half vs first: mean {:+.1}%, max {:+.1}%: **{}**.",
                    v.growth_pct,
                    (v.second.max_kib as f64 / v.first.max_kib.max(1) as f64 - 1.0) * 100.0,
                    if v.flat { "flat" } else { "growing" },
                );
            }
            None => {
                let _ = writeln!(out, "\nToo few samples after the warm-up for a verdict.");
            }
        }
        if let Some(failure) = &samples.failure {
            let _ = writeln!(out, "\nSampling stopped: {failure}");
        }
        let _ = writeln!(out, "\nAll samples (seconds since the start: MiB):\n\n```");
        for row in samples.samples.chunks(8) {
            let line: Vec<String> = row
                .iter()
                .map(|s| format!("{:5.1}: {:6.1}", s.at.as_secs_f64(), s.rss_kib as f64 / 1024.0))
                .collect();
            let _ = writeln!(out, "{}", line.join("  "));
        }
        let _ = writeln!(out, "```");
    }
}

fn yes(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn write_answers(out: &mut String, stats: &Stats) {
    let _ = writeln!(out, "| route | status | answers |\n| --- | --- | --- |");
    for ((route, status), count) in stats.answers() {
        let _ = writeln!(out, "| {route} | {status} | {count} |");
    }
    for (route, count) in stats.transport() {
        let _ = writeln!(out, "| {route} | transport error | {count} |");
    }
}

fn write_latencies(out: &mut String, stats: &mut Stats) {
    let _ = writeln!(
        out,
        "| route | answers | p50 | p90 | p99 | max |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (route, p) in stats.percentiles() {
        let _ = writeln!(
            out,
            "| {route} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            p.count, p.p50, p.p90, p.p99, p.max
        );
    }
}
