//! `todo-load`: a load generator for `todo-server`.
//!
//! Many virtual users, each with its own account, log in, create, list,
//! read and change todos, refresh their tokens, and log out and in again,
//! all at once, for a bounded time. Then every todo the server acknowledged
//! is read back, every logged-out session's tokens must be refused, and the
//! server's resident memory (when its PID is given) is compared between the
//! two halves of the run. The result is a Markdown report; the exit status
//! is 0 when every check held, 1 when one failed, 2 when the run could not
//! be made.
//!
//! It only talks to loopback addresses. `scripts/load` builds a real server,
//! starts it with a private Redis and runs this tool against it.

mod api;
mod args;
mod memory;
mod report;
mod stats;
mod user;
mod verify;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};

use crate::api::{Api, Delivery, REQUEST_TIMEOUT};
use crate::args::{Args, ArgsError};
use crate::report::Run;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("todo-load: {error}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("todo-load: {error}");
            ExitCode::from(2)
        }
    }
}

/// Runs the load, verifies, reports; `Ok(passed)`.
async fn run(args: &Args) -> Result<bool, String> {
    let api = Api::new(&args.base_url, args.concurrency)?;
    api.ready().await?;

    let start = Instant::now();
    let deadline = start + args.duration;
    let memory = match args.server_pid {
        Some(pid) => {
            Some(memory::sample(pid, start, deadline, memory::interval_for(args.duration))?)
        }
        None => None,
    };

    // Usernames are unique per run; passwords come from the OS generator,
    // not from the printed seed, and are never shown.
    let tag = format!("{:x}", args.seed % 0xff_ffff);
    let mut users = tokio::task::JoinSet::new();
    for n in 0..args.users {
        let plan = user::Plan {
            username: format!("load-{tag}-{n}"),
            password: Alphanumeric.sample_string(&mut rand::rng(), 24),
            first_delivery: if n % 2 == 0 { Delivery::Cookie } else { Delivery::Body },
            seed: args.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n as u64),
            deadline,
        };
        users.spawn(user::run(api.clone(), plan));
    }

    // Each user stops at the deadline, after at most one request in flight
    // plus its final logout; past that, the phase has overrun.
    let hard_stop = deadline + 2 * REQUEST_TIMEOUT + Duration::from_secs(5);
    let mut outcomes = Vec::with_capacity(args.users);
    let mut overran = false;
    loop {
        match tokio::time::timeout_at(hard_stop.into(), users.join_next()).await {
            Ok(Some(Ok(outcome))) => outcomes.push(outcome),
            Ok(Some(Err(error))) => return Err(format!("a virtual user failed: {error}")),
            Ok(None) => break,
            Err(_) => {
                overran = true;
                users.abort_all();
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    let memory = match memory {
        Some(task) => Some(task.await.map_err(|e| format!("the RSS sampler failed: {e}"))?),
        None => None,
    };

    let mut load = stats::Stats::default();
    let registered = outcomes.iter().filter(|o| o.registered).count();
    for outcome in &mut outcomes {
        load.merge(std::mem::take(&mut outcome.stats));
    }
    eprintln!(
        "todo-load: timed phase done: {} answers in {:.1} s; verifying",
        load.total_answers(),
        elapsed.as_secs_f64()
    );
    let findings =
        tokio::time::timeout(args.verify_timeout, verify::run(&api, outcomes)).await.ok();

    let mut run = Run { users: args.users, registered, elapsed, overran, load, findings, memory };
    let markdown = run.markdown(args);
    let checks = run.checks(args);
    let passed = checks.iter().all(|c| c.passed);
    if let Some(path) = &args.report {
        std::fs::write(path, &markdown)
            .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
    }
    for c in checks.iter().filter(|c| !c.passed) {
        eprintln!("todo-load: FAILED: {}: expected {}, got {}", c.name, c.expected, c.actual);
    }
    eprintln!("todo-load: {}", if passed { "PASS" } else { "FAIL" });
    Ok(passed)
}
