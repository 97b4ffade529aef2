//! Support for the black-box tests: the real `todo-server` binary as a child
//! process on a free loopback port, and an HTTP client with a cookie jar like
//! curl's.
//!
//! ```no_run
//! # async fn demo() {
//! use e2e::{CookieJar, Http, ServerProcess};
//! use serde_json::json;
//!
//! let server = ServerProcess::start(&[("APP_ENV", "development")]);
//! let http = Http::new(&server);
//! let mut jar = CookieJar::default();
//! let login = http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await;
//! jar.store(&login);
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod raw;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use jwt_session_testkit::{RedisCluster, RedisSentinel, RedisServer, TestCertificates};
use serde_json::Value;

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root, where `config/` lives.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `todo-server` executable, built once per test process by cargo (a
/// no-op when it is up to date), so the tests never run a stale binary.
///
/// # Panics
///
/// If cargo cannot build it.
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("todo-server"))
}

/// The `jwks-verifier` example service, built as [`server_binary`] is.
///
/// # Panics
///
/// If cargo cannot build it.
pub fn example_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("jwks-verifier"))
}

/// The `todo-load` load generator, built as [`server_binary`] is.
///
/// # Panics
///
/// If cargo cannot build it.
pub fn load_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("todo-load"))
}

/// Builds the binary `name` of the package of the same name.
fn build_binary(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["build", "-p", name, "--bin", name])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(output.status.success(), "cargo build -p {name} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == name)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo did not report the {name} executable"))
}

/// A running `todo-server`, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    logs: Arc<Mutex<String>>,
    _workdir: tempfile_dir::Dir,
}

mod tempfile_dir {
    /// An empty working directory, so no stray `.env` is read; removed on drop.
    #[derive(Debug)]
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);

    impl Dir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "todo-e2e-{}-{}",
                std::process::id(),
                jwt_session_testkit::free_port()
            ));
            std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl ServerProcess {
    /// Starts the server with only `env` (and `PATH`) in its environment,
    /// listening on a free port, and waits until it listens.
    ///
    /// # Panics
    ///
    /// If it exits or does not listen in time; the panic shows its logs.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_binary(server_binary(), env)
    }

    /// As [`start`](Self::start), for another binary that announces
    /// `listening addr=...` in its log the same way.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_binary(binary: &Path, env: &[(&str, &str)]) -> Self {
        let workdir = tempfile_dir::Dir::new();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info,jwt_session_actix=debug")
            .env("APP_CONFIG_DIR", workspace_root().join("config"))
            .envs(env.iter().copied())
            .current_dir(&workdir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start todo-server: {e}"));

        let logs = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr was piped"));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = addr_tx.send(addr);
                }
                let mut logs = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                logs.push_str(&line);
                logs.push('\n');
            }
        });

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(addr) = addr_rx.recv_timeout(Duration::from_millis(50)) {
                return Self { child, base_url: format!("http://{addr}"), logs, _workdir: workdir };
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(100));
                let logs = logs.lock().map(|l| l.clone()).unwrap_or_default();
                panic!("{} did not start (exit: {exited:?}); its logs:\n{logs}", binary.display());
            }
        }
    }

    /// `127.0.0.1:<port>`, for raw sockets.
    pub fn addr(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to exit.
    ///
    /// # Panics
    ///
    /// If it is still running after `within`.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        self.send_sigterm();
        self.wait(within)
    }

    /// Sends SIGTERM and returns at once; [`wait`](Self::wait) for the exit.
    pub fn send_sigterm(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    ///
    /// If it is still running after `within`.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "todo-server still runs after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running (it was never restarted: the
    /// tests own the only one).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the server's `listening addr=...` log line, in text or
/// JSON (`"addr":"..."`) form.
fn listening_addr(line: &str) -> Option<String> {
    if !line.contains("listening") {
        return None;
    }
    if let Some(start) = line.find("\"addr\":\"") {
        let rest = &line[start + "\"addr\":\"".len()..];
        return rest.split('"').next().map(str::to_owned);
    }
    let start = line.find("addr=")? + "addr=".len();
    let addr = line[start..].split_whitespace().next()?;
    Some(addr.trim_matches('"').to_owned())
}

impl ServerProcess {
    /// `http://host:port` of the metrics listener, from its
    /// `serving /metrics metrics_addr=...` log line.
    ///
    /// # Panics
    ///
    /// If the server logged no such line.
    pub fn metrics_url(&self) -> String {
        let logs = self.logs();
        let line = logs
            .lines()
            .find(|l| l.contains("serving /metrics"))
            .unwrap_or_else(|| panic!("no metrics listener in the logs:\n{logs}"));
        let start = line.find("metrics_addr=").map(|i| i + "metrics_addr=".len());
        let addr = start.and_then(|i| line[i..].split_whitespace().next()).unwrap_or_default();
        format!("http://{addr}/metrics")
    }
}

/// A cookie as a `Set-Cookie` header set it.
#[derive(Clone, Debug)]
pub struct SetCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// `Max-Age` in seconds, if given.
    pub max_age: Option<i64>,
    /// The attributes other than `Max-Age`, as written (`HttpOnly`, `Path=/`, ...).
    pub attributes: Vec<String>,
}

impl SetCookie {
    fn parse(header: &str) -> Option<Self> {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next()?.split_once('=')?;
        let mut cookie = SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            max_age: None,
            attributes: Vec::new(),
        };
        for part in parts {
            match part.split_once('=') {
                Some((key, age)) if key.eq_ignore_ascii_case("max-age") => {
                    cookie.max_age = age.parse().ok()
                }
                _ => cookie.attributes.push(part.to_owned()),
            }
        }
        Some(cookie)
    }

    /// Whether the attribute `name` (`HttpOnly`, `SameSite=Lax`, ...) is set,
    /// compared without regard to case.
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The cookies set.
    pub cookies: Vec<SetCookie>,
    /// All headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The cookie named `name` this answer set.
    ///
    /// # Panics
    ///
    /// If it set none.
    pub fn cookie(&self, name: &str) -> &SetCookie {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {:?}", self.cookies))
    }
}

/// A cookie jar as curl keeps one: set by `Set-Cookie`, emptied by `Max-Age=0`.
#[derive(Clone, Debug, Default)]
pub struct CookieJar(BTreeMap<String, String>);

impl CookieJar {
    /// Takes in what an answer set.
    pub fn store(&mut self, answer: &Answer) {
        for cookie in &answer.cookies {
            if cookie.max_age.is_some_and(|age| age <= 0) {
                self.0.remove(&cookie.name);
            } else {
                self.0.insert(cookie.name.clone(), cookie.value.clone());
            }
        }
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets a cookie by hand.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    fn header(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }
}

/// An HTTP client for one server.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    base_url: String,
}

impl Http {
    /// A client for `server`.
    pub fn new(server: &ServerProcess) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        Self { client, base_url: server.base_url.clone() }
    }

    /// `POST path` with a JSON body and the jar's cookies.
    pub async fn post(&self, path: &str, body: &Value, jar: &CookieJar) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body), jar, &[]).await
    }

    /// Any request, with the jar's cookies, extra headers and an optional JSON body.
    ///
    /// # Panics
    ///
    /// If the request cannot be sent.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        jar: &CookieJar,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(cookies) = jar.header() {
            request = request.header(reqwest::header::COOKIE, cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let cookies = headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(SetCookie::parse)
        .collect();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, body, cookies, headers }
}
