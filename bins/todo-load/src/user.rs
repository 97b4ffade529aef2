//! One virtual user: registers, logs in, then until the deadline creates,
//! lists, reads and changes todos, refreshes, and logs out and in again;
//! finally logs out. It remembers every todo the server acknowledged and
//! every session it logged out, for the verification that follows.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

use crate::api::{Answer, Api, Delivery, Session};
use crate::stats::{Route, Stats};

/// Pause after a failed login, so a broken server is not hammered in a loop.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Who the user is and until when it works.
pub(crate) struct Plan {
    pub(crate) username: String,
    pub(crate) password: String,
    /// Even users start with cookies, odd ones with tokens in bodies.
    pub(crate) first_delivery: Delivery,
    pub(crate) seed: u64,
    pub(crate) deadline: Instant,
}

/// A todo the server answered 201 for.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) id: String,
    pub(crate) title: String,
}

/// What the user did and must now be checked.
pub(crate) struct Outcome {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) registered: bool,
    pub(crate) stats: Stats,
    pub(crate) written: Vec<Written>,
    pub(crate) logged_out: Vec<Session>,
}

/// Runs the user to its deadline, then logs it out.
pub(crate) async fn run(api: Api, plan: Plan) -> Outcome {
    let mut user = User {
        api,
        rng: StdRng::seed_from_u64(plan.seed),
        stats: Stats::default(),
        written: Vec::new(),
        logged_out: Vec::new(),
        username: plan.username,
        password: plan.password,
        delivery: plan.first_delivery,
        session: None,
    };

    let registered = user.register().await;
    if registered {
        while Instant::now() < plan.deadline {
            user.step().await;
        }
        if user.session.is_some() {
            user.logout().await;
        }
    }

    Outcome {
        username: user.username,
        password: user.password,
        registered,
        stats: user.stats,
        written: user.written,
        logged_out: user.logged_out,
    }
}

struct User {
    api: Api,
    rng: StdRng,
    stats: Stats,
    written: Vec<Written>,
    logged_out: Vec<Session>,
    username: String,
    password: String,
    delivery: Delivery,
    session: Option<Session>,
}

impl User {
    /// One action, drawn with fixed weights; logs in first if needed.
    async fn step(&mut self) {
        if self.session.is_none() {
            if !self.login().await {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            return;
        }
        match self.rng.random_range(0..100) {
            0..45 => self.create().await,
            45..65 => self.list().await,
            65..80 => self.read().await,
            80..85 => self.mark_done().await,
            85..95 => self.refresh().await,
            _ => {
                self.logout().await;
                self.delivery = self.delivery.flipped();
            }
        }
    }

    async fn register(&mut self) -> bool {
        const ROUTE: Route = "POST /register";
        let request = self
            .api
            .request(Method::POST, "/register")
            .json(&json!({ "username": self.username, "password": self.password }));
        match self.api.send(&mut self.stats, ROUTE, request).await {
            Some(answer) if answer.status == 201 => true,
            Some(answer) => {
                self.unexpected(ROUTE, &answer);
                false
            }
            None => false,
        }
    }

    async fn login(&mut self) -> bool {
        const ROUTE: Route = "POST /login";
        let request = Session::login(&self.api, &self.username, &self.password, self.delivery);
        let Some(answer) = self.api.send(&mut self.stats, ROUTE, request).await else {
            return false;
        };
        match (answer.status, Session::from_answer(self.delivery, &answer)) {
            (200, Some(session)) => {
                self.session = Some(session);
                true
            }
            _ => {
                self.unexpected(ROUTE, &answer);
                false
            }
        }
    }

    async fn create(&mut self) {
        const ROUTE: Route = "POST /todo";
        let title = format!(
            "{} todo {} {:08x}",
            self.username,
            self.written.len(),
            self.rng.random::<u32>()
        );
        let body = json!({ "title": title });
        let Some(answer) = self.authorized(ROUTE, Method::POST, "/todo", Some(body)).await else {
            return;
        };
        let id = answer.body["id"].as_str();
        match (answer.status, id) {
            (201, Some(id)) if answer.body["title"] == title.as_str() => {
                self.written.push(Written { id: id.to_owned(), title });
            }
            _ => self.unexpected(ROUTE, &answer),
        }
    }

    async fn list(&mut self) {
        const ROUTE: Route = "GET /todos";
        let Some(answer) = self.authorized(ROUTE, Method::GET, "/todos?limit=20", None).await
        else {
            return;
        };
        let total = answer.body["total"].as_u64();
        match (answer.status, total) {
            (200, Some(total)) if total >= self.written.len() as u64 => {}
            (200, Some(total)) => self.stats.unexpected(format!(
                "{ROUTE}: total {total} below the {} todos acknowledged",
                self.written.len()
            )),
            _ => self.unexpected(ROUTE, &answer),
        }
    }

    /// Reads back one of this user's todos; any difference is a lost write.
    async fn read(&mut self) {
        const ROUTE: Route = "GET /todos/{id}";
        if self.written.is_empty() {
            return self.create().await;
        }
        let pick = self.rng.random_range(0..self.written.len());
        let path = format!("/todos/{}", self.written[pick].id);
        let Some(answer) = self.authorized(ROUTE, Method::GET, &path, None).await else {
            return;
        };
        if answer.status != 200 {
            self.unexpected(ROUTE, &answer);
        } else if answer.body["title"] != self.written[pick].title.as_str() {
            self.stats.unexpected(format!("{ROUTE}: the title read differs from the one written"));
        }
    }

    async fn mark_done(&mut self) {
        const ROUTE: Route = "PATCH /todos/{id}";
        if self.written.is_empty() {
            return self.create().await;
        }
        let pick = self.rng.random_range(0..self.written.len());
        let path = format!("/todos/{}", self.written[pick].id);
        let body = json!({ "done": true });
        let Some(answer) = self.authorized(ROUTE, Method::PATCH, &path, Some(body)).await else {
            return;
        };
        if answer.status != 200 || answer.body["done"] != true {
            self.unexpected(ROUTE, &answer);
        }
    }

    async fn refresh(&mut self) {
        const ROUTE: Route = "POST /token/refresh";
        let Some(session) = &self.session else { return };
        let delivery = session.delivery;
        let request = session.refresh(&self.api);
        let Some(answer) = self.api.send(&mut self.stats, ROUTE, request).await else { return };
        match (answer.status, Session::from_answer(delivery, &answer)) {
            (201, Some(next)) => self.session = Some(next),
            _ => {
                self.unexpected(ROUTE, &answer);
                self.session = None;
            }
        }
    }

    /// Logs out and keeps the session's tokens: they must be refused later.
    async fn logout(&mut self) {
        const ROUTE: Route = "POST /logout";
        let Some(session) = self.session.take() else { return };
        let request = session.authorize(self.api.request(Method::POST, "/logout"));
        let Some(answer) = self.api.send(&mut self.stats, ROUTE, request).await else { return };
        if answer.status == 200 {
            self.logged_out.push(session);
        } else {
            self.unexpected(ROUTE, &answer);
        }
    }

    /// A request with the session's access token and an optional JSON body;
    /// `None` when there is no session or no answer. A refusal ends the
    /// session, so the next step logs in again.
    async fn authorized(
        &mut self,
        route: Route,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Option<Answer> {
        let session = self.session.as_ref()?;
        let mut request = session.authorize(self.api.request(method, path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = self.api.send(&mut self.stats, route, request).await?;
        if answer.status == 401 {
            self.session = None;
        }
        Some(answer)
    }

    fn unexpected(&mut self, route: Route, answer: &Answer) {
        self.stats.unexpected(format!("{route}: {} {}", answer.status, answer.error()));
    }
}
