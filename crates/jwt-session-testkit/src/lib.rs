//! Test support: a private `redis-server` on a free loopback port, stopped
//! when dropped.
//!
//! Tests in this workspace run against real Redis, never a mock. Each test
//! starts its own server, so tests stay independent and leave nothing
//! running behind them.
//!
//! ```no_run
//! let mut redis = jwt_session_testkit::RedisServer::start();
//! let url = redis.url(); // redis://127.0.0.1:<port>/
//! redis.stop(); // the server is gone: clients must fail
//! redis.restart(); // same port, empty data set
//! # let _ = url;
//! ```
//!
//! The binary is `redis-server` from `PATH`, or the path in
//! `REDIS_SERVER_BIN`. Failing to start panics with a message that says what
//! to install: this crate is for tests only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process on `127.0.0.1`, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server without persistence on a free port and waits until it
    /// answers.
    ///
    /// # Panics
    ///
    /// If `redis-server` is missing or does not come up.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let mut server = Self { child: None, port: 0, dir };
        for _attempt in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
            // Another process took the port between our probe and the bind.
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, as the reference's `REDIS_ADDR` takes it.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A `redis://` URL for clients.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server; clients now get connection errors.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh, empty server on the same port.
    ///
    /// # Panics
    ///
    /// If it does not come up.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Spawns the process and waits for `PING`; false if it exited early.
    fn spawn(&mut self) -> bool {
        let log = self.dir.path().join("redis.log");
        let mut child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {:?}: {e}. Install Redis (`apt-get install -y redis-server` or \
                     `brew install redis`), or run ./scripts/test, which installs it",
                    binary()
                )
            });

        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if ping(self.port) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("redis-server on port {} did not answer PING in time; its log:\n{tail}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP port on `127.0.0.1` that was free a moment ago.
///
/// # Panics
///
/// If no port can be bound at all.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
}

fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_answers_until_stopped_and_again_after_restart() {
        let mut redis = RedisServer::start();
        assert!(ping(redis.port()));

        redis.stop();
        assert!(!ping(redis.port()));

        redis.restart();
        assert!(ping(redis.port()));
    }
}
