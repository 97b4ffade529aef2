//! `todo-server`: the todo API of the reference service, over JWT sessions.
//!
//! Configuration comes from `config/` and the environment (see the README);
//! this file only loads it, wires the app and serves until SIGINT or SIGTERM.

mod accounts;
mod app;
mod body;
mod data;
mod errors;
mod openapi;
mod routes;
mod settings;
mod startup;
mod text;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use tracing_subscriber::EnvFilter;

use crate::app::AppConfig;
use crate::settings::Settings;

#[actix_web::main]
async fn main() -> ExitCode {
    // `.env` is read before anything else, so that it feeds every layer.
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("todo-server: cannot read .env: {error}");
            return ExitCode::from(2);
        }
    }
    init_logging();

    let vars: HashMap<String, String> = std::env::vars().collect();
    let app_env = vars.get("APP_ENV").cloned().unwrap_or_else(|| "development".to_owned());
    let config_dir =
        vars.get("APP_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);

    let prepared = match Settings::load(&config_dir, &app_env, &vars)
        .map_err(startup::StartError::from)
        .and_then(|settings| startup::prepare(settings, &app_env))
    {
        Ok(prepared) => prepared,
        Err(error) => {
            tracing::error!(%error, "refusing to start");
            eprintln!("todo-server: {error}");
            return ExitCode::from(2);
        }
    };

    if let Err(error) = serve(prepared, &app_env).await {
        tracing::error!(%error, "server failed");
        eprintln!("todo-server: {error}");
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

    let config = AppConfig {
        state: prepared.state,
        frontend_origin: prepared.frontend_origin,
        max_body_bytes: prepared.max_body_bytes,
        require_origin: prepared.require_origin,
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
    actix_web::rt::spawn(async move {
        let signal = shutdown.received().await;
        tracing::info!(signal, "draining in-flight requests");
        handle.stop(true).await;
    });

    for addr in addrs {
        tracing::info!(%addr, app_env, store = store.backend(), "listening");
    }
    server.await?;
    tracing::info!(drain_timeout = ?Duration::from_secs(prepared.shutdown_timeout_secs), "stopped");
    Ok(())
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

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
