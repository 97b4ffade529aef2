//! `todo-server`: the todo API of the reference service, over JWT sessions.
//!
//! Configuration comes from `config/` and the environment (see the README);
//! this file only loads it, wires the app and serves until SIGINT or SIGTERM.
//! `todo-server --check-config` validates the configuration and exits.

mod accounts;
mod app;
mod body;
mod check;
mod data;
mod environment;
mod errors;
mod metrics;
mod openapi;
mod routes;
mod settings;
mod startup;
mod text;
mod web;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use tracing_subscriber::EnvFilter;

/// mimalloc hands large blocks back to the system when they are freed. Each
/// argon2 computation takes 19 MiB; glibc's allocator raises its mmap
/// threshold after the first one and then keeps every such block in its
/// per-thread arenas, so the process grew by hundreds of MiB after a few
/// dozen logins and never shrank (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::app::AppConfig;
use crate::settings::Settings;

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> =
        std::env::args_os().skip(1).map(|arg| arg.to_string_lossy().into_owned()).collect();
    let check_config = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check-config" => true,
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "--version" || flag == "-V" => {
            println!("todo-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        other => {
            let known = ["--check-config", "--help", "-h", "--version", "-V"];
            let unknown: Vec<&String> =
                other.iter().filter(|arg| !known.contains(&arg.as_str())).collect();
            let what = if unknown.is_empty() {
                "give one argument at most".to_owned()
            } else {
                format!("unknown arguments {unknown:?}")
            };
            eprintln!("todo-server: {what}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The environment and `.env` are read first (after the arguments, so
    // that --help and --version always work): they feed every layer, the
    // log's settings included.
    let vars = match environment::load() {
        Ok(vars) => vars,
        Err(message) => {
            eprintln!("todo-server: {message}");
            return ExitCode::from(2);
        }
    };
    let json_logs = match init_logging(&vars) {
        Ok(json_logs) => json_logs,
        Err(message) => {
            eprintln!("todo-server: {message}");
            return ExitCode::from(2);
        }
    };

    let app_env = vars.get("APP_ENV").cloned().unwrap_or_else(|| "development".to_owned());
    let config_dir =
        vars.get("APP_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
    match settings::check_layers(&config_dir, &app_env, vars.contains_key("APP_CONFIG_DIR")) {
        Ok(None) => {}
        Ok(Some(warning)) => tracing::warn!("{warning}"),
        Err(error) => {
            eprintln!("todo-server: {error}");
            return ExitCode::from(2);
        }
    }

    if check_config {
        let result = match Settings::load(&config_dir, &app_env, &vars) {
            Ok(settings) => check::run(settings, &app_env).await,
            Err(error) => Err(startup::StartError::from(error).into()),
        };
        return match result {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("todo-server: configuration refused: {error}");
                ExitCode::from(2)
            }
        };
    }

    let prepared = match Settings::load(&config_dir, &app_env, &vars)
        .map_err(startup::StartError::from)
        .and_then(|settings| startup::prepare(settings, &app_env))
    {
        Ok(prepared) => prepared,
        Err(error) => {
            report_fatal(json_logs, "refusing to start", &error);
            return ExitCode::from(2);
        }
    };

    if let Err(error) = serve(prepared, &app_env).await {
        report_fatal(json_logs, "server failed", &error);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn serve(prepared: startup::Prepared, app_env: &str) -> std::io::Result<()> {
    use jwt_session_store::SessionStore;

    let store = prepared.state.store.clone();
    if let Err(error) = store.ping().await {
        tracing::warn!(%error, "the session store does not answer yet; requests get 503 until it does");
    }

    let metrics_server = match &prepared.metrics_addr {
        Some(addr) => Some(metrics_server(addr, store.clone())?),
        None => None,
    };

    let config = AppConfig {
        state: prepared.state,
        frontend_origin: prepared.frontend_origin,
        max_body_bytes: prepared.max_body_bytes,
        require_origin: prepared.require_origin,
        serve_web: prepared.serve_web,
    };
    // Signal handlers are installed before the address is announced, so a
    // SIGTERM that follows the announcement always drains gracefully.
    let shutdown = ShutdownSignals::install()?;
    let server = HttpServer::new(move || app::build(config.clone()))
        .disable_signals()
        .shutdown_timeout(prepared.shutdown_timeout_secs)
        .bind(&prepared.listen_addr)
        .map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", prepared.listen_addr))
        })?;
    let addrs = server.addrs();
    let server = server.run();
    let handle = server.handle();
    let metrics_handle = metrics_server.as_ref().map(actix_web::dev::Server::handle);
    actix_web::rt::spawn(async move {
        let signal = shutdown.received().await;
        tracing::info!(signal, "draining in-flight requests");
        handle.stop(true).await;
        if let Some(metrics) = metrics_handle {
            metrics.stop(false).await;
        }
    });
    if let Some(metrics) = metrics_server {
        actix_web::rt::spawn(metrics);
    }

    for addr in addrs {
        tracing::info!(%addr, app_env, store = store.backend(), "listening");
    }
    server.await?;
    tracing::info!(drain_timeout = ?Duration::from_secs(prepared.shutdown_timeout_secs), "stopped");
    Ok(())
}

/// The `GET /metrics` listener on `addr`, apart from the public API, so that
/// only the network that reaches `addr` can scrape it.
fn metrics_server(
    addr: &str,
    store: jwt_session_store::AnyStore,
) -> std::io::Result<actix_web::dev::Server> {
    use actix_web::{web, App};

    let handle = metrics::install().map_err(std::io::Error::other)?;
    let exporter = metrics::Exporter { handle, store };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(exporter.clone()))
            .route("/metrics", web::get().to(metrics::scrape))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {addr} for metrics: {e}"))
    })?;
    for bound in server.addrs() {
        tracing::info!(metrics_addr = %bound, "serving /metrics");
    }
    Ok(server.run())
}

/// SIGTERM and SIGINT, listened for from the moment of `install`.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either signal and names it.
    async fn received(mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// Says once why the server stops: a plain `todo-server: …` line on stderr
/// with text logs, where a person reads it, or an error log line with
/// `LOG_FORMAT=json`, where a collector does (plain again if the log filter
/// hides errors, so that the reason is never lost).
fn report_fatal(json_logs: bool, what: &str, error: &dyn std::fmt::Display) {
    if json_logs && tracing::enabled!(tracing::Level::ERROR) {
        tracing::error!(%error, "{what}");
    } else {
        eprintln!("todo-server: {error}");
    }
}

/// What `--help` prints.
const USAGE: &str = "usage: todo-server [--check-config | --help | --version]

  (no argument)   serve the todo API with the configuration of config/ and the environment
  --check-config  check the configuration and the store, print it (secrets masked), exit
  --help          print this
  --version       print the version

Configuration: config/default.toml, config/{APP_ENV}.toml, APP__SECTION__KEY variables,
the reference's short names (ACCESS_SECRET, REDIS_ADDR, ...) and .env; see the README.";

/// The log filter without `RUST_LOG`. actix-http logs every request it cannot
/// parse at error (and answers it 400): any client could fill the log with
/// those lines, so they are off unless `RUST_LOG` asks for them.
const DEFAULT_LOG_FILTER: &str = "info,actix_http::h1::dispatcher=off";

/// Logs to stderr at the level of `RUST_LOG` (default [`DEFAULT_LOG_FILTER`]):
/// readable text, or one JSON object a line with `LOG_FORMAT=json` (then
/// returns true). The request span's `request_id` is on every line logged
/// while a request is served.
fn init_logging(vars: &HashMap<String, String>) -> Result<bool, String> {
    let asked = vars.get("RUST_LOG").filter(|filter| !filter.trim().is_empty());
    let filter = asked.map_or_else(|| Ok(EnvFilter::new(DEFAULT_LOG_FILTER)), EnvFilter::try_new);
    let filter = filter.map_err(|e| format!("RUST_LOG is not a log filter: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let format = vars.get("LOG_FORMAT").map(|f| f.to_ascii_lowercase()).unwrap_or_default();
    match format.as_str() {
        "" | "text" => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        "json" => builder.json().with_current_span(true).with_span_list(false).init(),
        other => return Err(format!("LOG_FORMAT is {other:?}; it must be text or json")),
    }
    Ok(format == "json")
}
