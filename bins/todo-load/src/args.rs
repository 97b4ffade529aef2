//! Command-line flags, parsed by hand: a handful of `--name value` pairs do
//! not need an argument-parsing dependency.

use std::path::PathBuf;
use std::time::Duration;

/// The longest timed phase accepted: the tool must stop by itself.
const MAX_DURATION: Duration = Duration::from_secs(3600);

pub(crate) const USAGE: &str = "\
usage: todo-load --base-url http://127.0.0.1:PORT [options]

  --base-url URL          the server; only loopback addresses are accepted
  --users N               virtual users, each with its own account (default 50)
  --concurrency N         requests in flight at most (default 32)
  --duration D            timed phase, e.g. 60s, 2m, 1500ms (default 60s)
  --warmup D              RSS samples before this are not compared
                          (default: a sixth of the duration)
  --server-pid PID        sample this process's VmRSS from /proc
  --rss-tolerance-pct P   second-half mean RSS may exceed the first half's by
                          this much (default 10)
  --verify-timeout D      bound on the verification phase (default 120s)
  --seed N                seed of the users' choices (default: from the clock)
  --report FILE           write the Markdown report there
";

/// What the run does.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) base_url: String,
    pub(crate) users: usize,
    pub(crate) concurrency: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) server_pid: Option<u32>,
    pub(crate) rss_tolerance_pct: f64,
    pub(crate) verify_timeout: Duration,
    pub(crate) seed: u64,
    pub(crate) report: Option<PathBuf>,
}

/// Why the flags were refused.
#[derive(Debug)]
pub(crate) enum ArgsError {
    Help,
    Invalid(String),
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Help => f.write_str("help requested"),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

impl Args {
    /// Parses the flags (without the program name).
    pub(crate) fn parse(mut flags: impl Iterator<Item = String>) -> Result<Self, ArgsError> {
        let mut base_url = None;
        let mut users = 50;
        let mut concurrency = 32;
        let mut duration = Duration::from_secs(60);
        let mut warmup = None;
        let mut server_pid = None;
        let mut rss_tolerance_pct = 10.0;
        let mut verify_timeout = Duration::from_secs(120);
        let mut seed = None;
        let mut report = None;

        while let Some(flag) = flags.next() {
            if flag == "-h" || flag == "--help" {
                return Err(ArgsError::Help);
            }
            let value =
                flags.next().ok_or_else(|| ArgsError::Invalid(format!("{flag} needs a value")))?;
            match flag.as_str() {
                "--base-url" => base_url = Some(loopback_url(&value)?),
                "--users" => users = positive(&flag, &value)?,
                "--concurrency" => concurrency = positive(&flag, &value)?,
                "--duration" => duration = duration_of(&flag, &value)?,
                "--warmup" => warmup = Some(duration_of(&flag, &value)?),
                "--server-pid" => server_pid = Some(number(&flag, &value)?),
                "--rss-tolerance-pct" => rss_tolerance_pct = number(&flag, &value)?,
                "--verify-timeout" => verify_timeout = duration_of(&flag, &value)?,
                "--seed" => seed = Some(number(&flag, &value)?),
                "--report" => report = Some(PathBuf::from(value)),
                _ => return Err(ArgsError::Invalid(format!("unknown flag {flag}"))),
            }
        }

        let base_url =
            base_url.ok_or_else(|| ArgsError::Invalid("--base-url is required".into()))?;
        if duration.is_zero() || duration > MAX_DURATION {
            return Err(ArgsError::Invalid("--duration must be above 0 and at most 1h".into()));
        }
        let warmup = warmup.unwrap_or(duration / 6);
        if warmup >= duration {
            return Err(ArgsError::Invalid("--warmup must be shorter than --duration".into()));
        }
        let seed = seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64)
        });
        Ok(Self {
            base_url,
            users,
            concurrency,
            duration,
            warmup,
            server_pid,
            rss_tolerance_pct,
            verify_timeout,
            seed,
            report,
        })
    }
}

/// The URL without its trailing slash, if its host is a loopback address.
fn loopback_url(value: &str) -> Result<String, ArgsError> {
    let rest = value.strip_prefix("http://").ok_or_else(|| {
        ArgsError::Invalid(format!("--base-url must start with http://: {value}"))
    })?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(ArgsError::Invalid(format!(
            "--base-url must point at this machine (127.0.0.1, localhost or [::1]), not {host}"
        )));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ArgsError> {
    value.parse().map_err(|_| ArgsError::Invalid(format!("{flag}: not a number: {value}")))
}

fn positive(flag: &str, value: &str) -> Result<usize, ArgsError> {
    match number(flag, value)? {
        0 => Err(ArgsError::Invalid(format!("{flag} must be at least 1"))),
        n => Ok(n),
    }
}

/// `1500ms`, `60s`, `2m`, or a bare number of seconds.
fn duration_of(flag: &str, value: &str) -> Result<Duration, ArgsError> {
    let (digits, unit_ms) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else if let Some(m) = value.strip_suffix('m') {
        (m, 60_000)
    } else {
        (value, 1000)
    };
    let amount: u64 = number(flag, digits)?;
    Ok(Duration::from_millis(amount.saturating_mul(unit_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(flags.iter().map(|f| (*f).to_owned()))
    }

    #[test]
    fn durations_take_units() {
        let args = parse(&["--base-url", "http://127.0.0.1:1/", "--duration", "2m"]).unwrap();
        assert_eq!(args.duration, Duration::from_secs(120));
        assert_eq!(args.warmup, Duration::from_secs(20));
        assert_eq!(args.base_url, "http://127.0.0.1:1");
        let args = parse(&["--base-url", "http://[::1]:1", "--duration", "1500ms"]).unwrap();
        assert_eq!(args.duration, Duration::from_millis(1500));
    }

    #[test]
    fn other_hosts_are_refused() {
        for url in ["http://example.com", "http://10.0.0.1:80", "https://127.0.0.1"] {
            assert!(parse(&["--base-url", url]).is_err(), "{url}");
        }
    }

    #[test]
    fn unbounded_or_empty_runs_are_refused() {
        let base = ["--base-url", "http://127.0.0.1:1"];
        assert!(parse(&[&base[..], &["--duration", "0s"]].concat()).is_err());
        assert!(parse(&[&base[..], &["--duration", "2h"]].concat()).is_err());
        assert!(parse(&[&base[..], &["--users", "0"]].concat()).is_err());
        assert!(parse(&[&base[..], &["--warmup", "90s"]].concat()).is_err());
    }
}
