//! Test support: private `redis-server` processes on free loopback ports, a
//! standalone server, a three-master cluster, or a master with a replica
//! watched by Sentinel, stopped when dropped.
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
//! redis.pause(); // SIGSTOP: connections open, nothing answers
//! redis.resume(); // SIGCONT: answers again, data intact
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
    /// Arguments before `--port`: a config file must come first.
    leading_args: Vec<String>,
    extra_args: Vec<String>,
    /// The second port, speaking TLS, of [`start_tls`](Self::start_tls).
    tls_port: Option<u16>,
}

impl RedisServer {
    /// Starts a server without persistence on a free port and waits until it
    /// answers.
    ///
    /// # Panics
    ///
    /// If `redis-server` is missing or does not come up.
    pub fn start() -> Self {
        Self::start_with(&[], free_port)
    }

    /// Starts a server with `extra_args`, on a port that `pick_port` chooses.
    fn start_with(extra_args: &[&str], pick_port: fn() -> u16) -> Self {
        Self::start_full(Vec::new(), extra_args, pick_port)
    }

    /// As [`start_with`](Self::start_with), with `leading_args` first.
    fn start_full(leading_args: Vec<String>, extra_args: &[&str], pick_port: fn() -> u16) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let extra_args = extra_args.iter().map(|a| (*a).to_owned()).collect();
        let mut server =
            Self { child: None, port: 0, dir, leading_args, extra_args, tls_port: None };
        for _attempt in 0..5 {
            server.port = pick_port();
            if server.spawn() {
                return server;
            }
            // Another process took the port between our probe and the bind.
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Starts a server that also takes TLS connections on a second free port
    /// ([`tls_url`](Self::tls_url)), with the server certificate of `certs`;
    /// clients need not present one of their own.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(certs: &TestCertificates) -> Self {
        let tls_port = free_port().to_string();
        let files = [certs.file("server.pem"), certs.file("server.key"), certs.file("ca.pem")];
        let [cert, key, ca] = files.map(|path| path.display().to_string());
        let args = [
            "--tls-port",
            tls_port.as_str(),
            "--tls-cert-file",
            cert.as_str(),
            "--tls-key-file",
            key.as_str(),
            "--tls-ca-cert-file",
            ca.as_str(),
            "--tls-auth-clients",
            "no",
        ];
        let mut server = Self::start_with(&args, free_port);
        server.tls_port = tls_port.parse().ok();
        server
    }

    /// `rediss://localhost:<port>/`, the TLS port of a server started with
    /// [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> Option<String> {
        self.tls_port.map(|port| format!("rediss://localhost:{port}/"))
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

    /// Freezes the server with SIGSTOP: it keeps its port and connections
    /// but answers nothing, like a host that hangs, until [`resume`].
    ///
    /// [`resume`]: Self::resume
    ///
    /// # Panics
    ///
    /// If the server is not running or the signal cannot be sent.
    pub fn pause(&mut self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again with SIGCONT; its data is intact.
    ///
    /// # Panics
    ///
    /// If the server is not running or the signal cannot be sent.
    pub fn resume(&mut self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().unwrap_or_else(|| panic!("redis-server is not running"));
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill {signal}: {e}"));
        assert!(status.success(), "kill {signal} {} failed: {status}", child.id());
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
            .args(&self.leading_args)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(&self.extra_args)
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

/// A private certificate authority (`ca.pem`) and a server certificate it
/// signed for `localhost` and `127.0.0.1`, made by the `openssl` command in
/// a directory removed on drop.
#[derive(Debug)]
pub struct TestCertificates {
    dir: tempfile::TempDir,
}

impl TestCertificates {
    /// Makes the authority and the server's key and certificate.
    ///
    /// # Panics
    ///
    /// If the `openssl` command is missing or fails.
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let ext = dir.path().join("ext.cnf");
        std::fs::write(&ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", ext.display()));
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let ca_args = ["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"];
        let server_args = ["req", "-keyout", "server.key", "-out", "server.csr"];
        let steps: [Vec<&str>; 3] = [
            [&ca_args[..], &ec, &["-subj", "/CN=jwt-session test CA"]].concat(),
            [&server_args[..], &ec, &["-subj", "/CN=localhost"]].concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        ];
        for args in &steps {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run openssl: {e}; install it (`apt-get install -y openssl`)")
                });
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Self { dir }
    }

    /// The authority's certificate, for clients to trust.
    pub fn ca_file(&self) -> PathBuf {
        self.file("ca.pem")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
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

/// A local Redis Cluster of three masters on free loopback ports (no
/// replicas), each node stopped on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers, splits the 16384 slots between
    /// them, joins them and waits until the cluster reports `ok`.
    ///
    /// # Panics
    ///
    /// If a node does not start or the cluster does not form in time.
    pub fn start() -> Self {
        let args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"];
        let nodes: Vec<RedisServer> =
            (0..3).map(|_| RedisServer::start_with(&args, free_port_with_bus)).collect();

        let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (node, (first, last)) in nodes.iter().zip(ranges) {
            let (first, last) = (first.to_string(), last.to_string());
            expect_ok(node.port, &["CLUSTER", "ADDSLOTSRANGE", &first, &last]);
        }
        for node in &nodes[1..] {
            expect_ok(nodes[0].port, &["CLUSTER", "MEET", "127.0.0.1", &node.port.to_string()]);
        }

        let deadline = Instant::now() + Duration::from_secs(30);
        let formed = |node: &RedisServer| {
            command(node.port, &["CLUSTER", "INFO"]).is_ok_and(|info| {
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            })
        };
        while !nodes.iter().all(formed) {
            assert!(Instant::now() < deadline, "the Redis Cluster did not reach cluster_state:ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { nodes }
    }

    /// `redis://` URLs of every node, usable as cluster seeds.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// `host:port` of every node, comma-separated, as `REDIS_CLUSTER_NODES` takes them.
    pub fn nodes_env(&self) -> String {
        self.nodes.iter().map(RedisServer::addr).collect::<Vec<_>>().join(",")
    }
}

/// A Redis master with one replica (`--replicaof`) and one Sentinel watching
/// them, each on a free loopback port and stopped on drop. The Sentinel
/// declares the master down after 500 ms without answers and promotes the
/// replica, so a failover takes a few seconds.
#[derive(Debug)]
pub struct RedisSentinel {
    master: RedisServer,
    replica: RedisServer,
    sentinel: RedisServer,
    _config_dir: tempfile::TempDir,
}

impl RedisSentinel {
    /// The name under which the Sentinel watches the master.
    pub const MASTER_NAME: &'static str = "todo-master";

    /// Starts the master, the replica (waiting until it is in sync) and the
    /// Sentinel (waiting until it knows the replica).
    ///
    /// # Panics
    ///
    /// If a process does not start or the set-up does not settle in time.
    pub fn start() -> Self {
        let master = RedisServer::start();
        let master_port = master.port.to_string();
        let replica =
            RedisServer::start_with(&["--replicaof", "127.0.0.1", &master_port], free_port);
        wait_until("the replica to sync with its master", || {
            command(replica.port, &["INFO", "replication"])
                .is_ok_and(|info| info.contains("master_link_status:up"))
        });

        // Sentinel rewrites its configuration file, so it gets one of its own.
        let config_dir =
            tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let config = config_dir.path().join("sentinel.conf");
        let name = Self::MASTER_NAME;
        let text = format!(
            "sentinel monitor {name} 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds {name} 500\n\
             sentinel failover-timeout {name} 3000\n"
        );
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        let leading = vec![config.display().to_string(), "--sentinel".to_owned()];
        let sentinel = RedisServer::start_full(leading, &[], free_port);
        wait_until("the Sentinel to discover the replica", || {
            command(sentinel.port, &["INFO", "sentinel"])
                .is_ok_and(|info| info.contains("slaves=1"))
        });
        Self { master, replica, sentinel, _config_dir: config_dir }
    }

    /// `host:port` of the Sentinel, as `REDIS_SENTINEL_NODES` takes it.
    pub fn nodes_env(&self) -> String {
        self.sentinel.addr()
    }

    /// The master's `host:port`, as the Sentinel reports it now.
    pub fn current_master_addr(&self) -> Option<String> {
        let info = command(self.sentinel.port, &["INFO", "sentinel"]).ok()?;
        let start = info.find("address=")? + "address=".len();
        info[start..].split(',').next().map(str::to_owned)
    }

    /// Waits until the replica holds every write the master acknowledged.
    ///
    /// # Panics
    ///
    /// If the replica does not acknowledge within two seconds.
    pub fn sync_replica(&self) {
        let reply = command(self.master.port, &["WAIT", "1", "2000"]);
        assert_eq!(reply.as_deref(), Ok("1"), "the replica did not acknowledge the writes");
    }

    /// Kills the master; the Sentinel then promotes the replica.
    pub fn kill_master(&mut self) {
        self.master.stop();
    }

    /// Waits until the Sentinel names the replica as the master.
    ///
    /// # Panics
    ///
    /// If that does not happen within 30 seconds.
    pub fn wait_for_promotion(&self) {
        let replica = self.replica.addr();
        wait_until("the Sentinel to promote the replica", || {
            self.current_master_addr().as_deref() == Some(replica.as_str())
        });
    }
}

/// Polls `done` every 50 ms for up to 30 seconds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free port whose cluster bus port (port + 10000) is free as well.
fn free_port_with_bus() -> u16 {
    for _ in 0..100 {
        let port = free_port();
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair (port, port + 10000) on loopback");
}

fn expect_ok(port: u16, args: &[&str]) {
    match command(port, args) {
        Ok(reply) if reply == "OK" => {}
        other => panic!("{args:?} on port {port}: {other:?}"),
    }
}

/// Sends one command and reads a simple, error, integer or bulk reply.
fn command(port: u16, args: &[&str]) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;

    let mut reader = std::io::BufReader::new(stream);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).map_err(|e| e.to_string())?;
    let (kind, rest) = line.trim_end().split_at(1.min(line.len()));
    match kind {
        "+" | ":" => Ok(rest.to_owned()),
        "-" => Err(rest.to_owned()),
        "$" => {
            let len: usize = rest.parse().map_err(|_| format!("bad bulk length {rest:?}"))?;
            let mut body = vec![0u8; len + 2];
            reader.read_exact(&mut body).map_err(|e| e.to_string())?;
            body.truncate(len);
            String::from_utf8(body).map_err(|e| e.to_string())
        }
        other => Err(format!("unexpected reply type {other:?}")),
    }
}

fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

fn ping(port: u16) -> bool {
    command(port, &["PING"]).is_ok_and(|reply| reply == "PONG")
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

    #[test]
    fn a_paused_server_answers_nothing_until_resumed() {
        let mut redis = RedisServer::start();
        expect_ok(redis.port(), &["SET", "k", "v"]);

        redis.pause();
        assert!(!ping(redis.port()), "a paused server answered");

        redis.resume();
        assert!(ping(redis.port()));
        assert_eq!(command(redis.port(), &["GET", "k"]).as_deref(), Ok("v"));
    }

    #[test]
    fn sentinel_promotes_the_replica_when_the_master_dies() {
        let mut set = RedisSentinel::start();
        assert_eq!(set.current_master_addr(), Some(set.master.addr()));
        expect_ok(set.master.port, &["SET", "k", "v"]);
        set.sync_replica();

        set.kill_master();
        set.wait_for_promotion();

        assert_eq!(command(set.replica.port, &["GET", "k"]).as_deref(), Ok("v"));
        expect_ok(set.replica.port, &["SET", "k", "w"]);
    }

    #[test]
    fn a_cluster_forms_with_three_masters_covering_every_slot() {
        let cluster = RedisCluster::start();
        assert_eq!(cluster.urls().len(), 3);
        let info = command(cluster.nodes[0].port, &["CLUSTER", "INFO"]).unwrap();
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");
    }
}
