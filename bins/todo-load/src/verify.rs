//! After the timed phase: every acknowledged todo is read back by id, each
//! user's todo count covers its acknowledged writes, and every logged-out
//! session's access and refresh tokens are refused.

use reqwest::Method;

use crate::api::{Api, Delivery, Session};
use crate::stats::{Route, Stats};
use crate::user::Outcome;

/// What the verification found, summed over the users.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) stats: Stats,
    /// Todos answered 201 during the run.
    pub(crate) acknowledged: u64,
    /// Of those, read back by id with the same title.
    pub(crate) read_back: u64,
    /// Answered 404: the write is gone.
    pub(crate) lost: u64,
    /// Read back with another title.
    pub(crate) changed: u64,
    /// Users whose `GET /todos` total is below their acknowledged writes.
    pub(crate) short_lists: u64,
    /// Users whose total is above them (a create whose answer was lost).
    pub(crate) long_lists: u64,
    /// Users that could not log in to be verified.
    pub(crate) unverified_users: u64,
    pub(crate) logged_out: u64,
    pub(crate) access_refused: u64,
    pub(crate) refresh_refused: u64,
}

impl Findings {
    fn merge(&mut self, other: Findings) {
        self.stats.merge(other.stats);
        self.acknowledged += other.acknowledged;
        self.read_back += other.read_back;
        self.lost += other.lost;
        self.changed += other.changed;
        self.short_lists += other.short_lists;
        self.long_lists += other.long_lists;
        self.unverified_users += other.unverified_users;
        self.logged_out += other.logged_out;
        self.access_refused += other.access_refused;
        self.refresh_refused += other.refresh_refused;
    }
}

/// Verifies every user concurrently (the client bounds the requests).
pub(crate) async fn run(api: &Api, outcomes: Vec<Outcome>) -> Findings {
    let mut tasks = tokio::task::JoinSet::new();
    for outcome in outcomes {
        tasks.spawn(verify_user(api.clone(), outcome));
    }
    let mut findings = Findings::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(one) => findings.merge(one),
            Err(error) => {
                findings.unverified_users += 1;
                findings.stats.unexpected(format!("a verification task failed: {error}"));
            }
        }
    }
    findings
}

async fn verify_user(api: Api, outcome: Outcome) -> Findings {
    let mut found = Findings {
        acknowledged: outcome.written.len() as u64,
        logged_out: outcome.logged_out.len() as u64,
        ..Findings::default()
    };
    let stats = &mut found.stats;

    // Logged-out sessions first, each presented as it was used.
    for old in &outcome.logged_out {
        let route: Route = match old.delivery {
            Delivery::Cookie => "GET /todos (logged-out cookie)",
            Delivery::Body => "GET /todos (logged-out Bearer)",
        };
        let request = old.authorize(api.request(Method::GET, "/todos?limit=1"));
        if let Some(answer) = api.send(stats, route, request).await {
            if answer.status == 401 {
                found.access_refused += 1;
            } else {
                stats.unexpected(format!("{route}: {} instead of 401", answer.status));
            }
        }
        let route: Route = "POST /token/refresh (logged-out)";
        if let Some(answer) = api.send(stats, route, old.refresh(&api)).await {
            if answer.status == 401 {
                found.refresh_refused += 1;
            } else {
                stats.unexpected(format!("{route}: {} instead of 401", answer.status));
            }
        }
    }

    if !outcome.registered {
        return found;
    }
    let login = Session::login(&api, &outcome.username, &outcome.password, Delivery::Body);
    let session = match api.send(stats, "POST /login (verify)", login).await {
        Some(answer) if answer.status == 200 => Session::from_answer(Delivery::Body, &answer),
        _ => None,
    };
    let Some(session) = session else {
        found.unverified_users += 1;
        stats.unexpected(format!("{}: cannot log in to verify", outcome.username));
        return found;
    };

    for todo in &outcome.written {
        let route: Route = "GET /todos/{id} (verify)";
        let request = session.authorize(api.request(Method::GET, &format!("/todos/{}", todo.id)));
        let Some(answer) = api.send(stats, route, request).await else { continue };
        match answer.status {
            200 if answer.body["title"] == todo.title.as_str() => found.read_back += 1,
            200 => found.changed += 1,
            404 => found.lost += 1,
            status => stats.unexpected(format!("{route}: {status} {}", answer.error())),
        }
    }

    let route: Route = "GET /todos (verify)";
    let request = session.authorize(api.request(Method::GET, "/todos?limit=1"));
    if let Some(answer) = api.send(stats, route, request).await {
        match answer.body["total"].as_u64() {
            Some(total) if answer.status == 200 => {
                let acknowledged = outcome.written.len() as u64;
                found.short_lists += u64::from(total < acknowledged);
                found.long_lists += u64::from(total > acknowledged);
            }
            _ => stats.unexpected(format!("{route}: {} {}", answer.status, answer.error())),
        }
    }

    let route: Route = "POST /logout (verify)";
    let request = session.authorize(api.request(Method::POST, "/logout"));
    if let Some(answer) = api.send(stats, route, request).await {
        if answer.status != 200 {
            stats.unexpected(format!("{route}: {} {}", answer.status, answer.error()));
        }
    }
    found
}
