//! The HTTP side: one shared client whose in-flight requests are bounded,
//! and a session's tokens, sent as cookies or as a Bearer header.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::stats::{Route, Stats};

/// Longest wait for one answer; the timed phase ends at most this much late.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server, as every virtual user reaches it.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    client: reqwest::Client,
    base_url: String,
    in_flight: Arc<Semaphore>,
}

/// One HTTP answer. Not `Debug`: its headers may carry tokens.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    headers: HeaderMap,
}

impl Answer {
    /// The `error` field of a JSON error body, for messages (never a token:
    /// error bodies carry fixed phrases).
    pub(crate) fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// The value a `Set-Cookie` header of this answer gave cookie `name`.
    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|header| header.split(';').next()?.split_once('='))
            .find(|(cookie, _)| *cookie == name)
            .map(|(_, value)| value)
    }
}

impl Api {
    /// A client for `base_url` with at most `concurrency` requests in flight.
    pub(crate) fn new(base_url: &str, concurrency: usize) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent("todo-load")
            .pool_max_idle_per_host(concurrency)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let in_flight = Arc::new(Semaphore::new(concurrency));
        Ok(Self { client, base_url: base_url.to_owned(), in_flight })
    }

    /// A request to `path` (which starts with `/`).
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base_url))
    }

    /// Sends `request`, counting its answer or its failure under `route`.
    /// The latency is measured from the moment the request may go out, so
    /// waiting for a free slot is not counted as the server's time.
    pub(crate) async fn send(
        &self,
        stats: &mut Stats,
        route: Route,
        request: RequestBuilder,
    ) -> Option<Answer> {
        // The semaphore is never closed, so acquiring cannot fail.
        let _slot = self.in_flight.acquire().await.ok()?;
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        }
        .await;
        match result {
            Ok((status, headers, bytes)) => {
                stats.answer(route, status, started.elapsed());
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Some(Answer { status, body, headers })
            }
            Err(error) => {
                stats.transport_error(route, error);
                None
            }
        }
    }

    /// `GET /readyz` must answer 200 before the run starts.
    pub(crate) async fn ready(&self) -> Result<(), String> {
        let response = self
            .request(Method::GET, "/readyz")
            .send()
            .await
            .map_err(|e| format!("{}/readyz: {}", self.base_url, e.without_url()))?;
        match response.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("{}/readyz answered {status}", self.base_url)),
        }
    }
}

/// How a session's tokens travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// `access_token` and `refresh_token` cookies, as a browser keeps them.
    Cookie,
    /// Tokens in the JSON bodies and `Authorization: Bearer`.
    Body,
}

impl Delivery {
    /// The other one.
    pub(crate) fn flipped(self) -> Self {
        match self {
            Self::Cookie => Self::Body,
            Self::Body => Self::Cookie,
        }
    }

    /// The `token_delivery` field of a login.
    fn login_field(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Body => "body",
        }
    }
}

/// The tokens of one logged-in session. Deliberately not `Debug`: it holds
/// credentials, which must never reach a log or a report.
pub(crate) struct Session {
    pub(crate) delivery: Delivery,
    access: String,
    refresh: String,
}

impl Session {
    /// The login request for `username`.
    pub(crate) fn login(
        api: &Api,
        username: &str,
        password: &str,
        delivery: Delivery,
    ) -> RequestBuilder {
        api.request(Method::POST, "/login").json(&json!({
            "username": username,
            "password": password,
            "token_delivery": delivery.login_field(),
        }))
    }

    /// The tokens a login (200) or refresh (201) answer delivered.
    pub(crate) fn from_answer(delivery: Delivery, answer: &Answer) -> Option<Self> {
        let (access, refresh) = match delivery {
            Delivery::Cookie => (answer.cookie("access_token")?, answer.cookie("refresh_token")?),
            Delivery::Body => {
                (answer.body["access_token"].as_str()?, answer.body["refresh_token"].as_str()?)
            }
        };
        if access.is_empty() || refresh.is_empty() {
            return None;
        }
        Some(Self { delivery, access: access.to_owned(), refresh: refresh.to_owned() })
    }

    /// `request` with this session's access token, as cookies or Bearer.
    pub(crate) fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match self.delivery {
            Delivery::Cookie => request.header(COOKIE, self.cookie_header()),
            Delivery::Body => request.bearer_auth(&self.access),
        }
    }

    /// The refresh request: the cookie jar, or the token in the body.
    pub(crate) fn refresh(&self, api: &Api) -> RequestBuilder {
        let request = api.request(Method::POST, "/token/refresh");
        match self.delivery {
            Delivery::Cookie => request.header(COOKIE, self.cookie_header()),
            Delivery::Body => request.json(&json!({ "refresh_token": self.refresh })),
        }
    }

    fn cookie_header(&self) -> String {
        format!("access_token={}; refresh_token={}", self.access, self.refresh)
    }
}
