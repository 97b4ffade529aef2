//! `RemoteJwks` against a real HTTP server on 127.0.0.1 that this test
//! starts: cache hits, refetch on an unknown kid, cooldown, single flight
//! and a JWKS host that goes down.
#![cfg(feature = "jwks-fetch")]
// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jwt_session_token::{
    Algorithm, JwsKey, KeySet, RemoteJwks, RemoteJwksOptions, TokenError, TokenKeys, TokenKind,
    TokenService, TokenSettings,
};

/// A one-route HTTP/1.1 server answering every request with the current
/// JWKS, counting requests; it can be slowed down or stopped for good.
struct JwksServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl JwksServer {
    fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));

        let thread = {
            let (body, hits, delay_ms, stop) =
                (body.clone(), hits.clone(), delay_ms.clone(), stop.clone());
            std::thread::spawn(move || {
                // Bounded: the test stops it, and it gives up after a minute.
                for _ in 0..12_000 {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match listener.accept() {
                        Ok((stream, _)) => {
                            hits.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(
                                delay_ms.load(Ordering::SeqCst),
                            ));
                            let body = body.lock().unwrap().clone();
                            answer(stream, &body);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self { addr, body, hits, delay_ms, stop, thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn publish(&self, jwks: String) {
        *self.body.lock().unwrap() = jwks;
    }

    /// Stops the server and closes its port: connections are refused.
    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn answer(mut stream: TcpStream, body: &str) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/jwk-set+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn settings() -> TokenSettings {
    TokenSettings::new("issuer", "audience")
}

fn issuer(kid: &str) -> TokenService {
    let access = KeySet::new(JwsKey::generate(Algorithm::EdDsa).unwrap().with_kid(kid)).unwrap();
    let refresh = KeySet::new(JwsKey::generate(Algorithm::Hs256).unwrap()).unwrap();
    TokenService::new(settings(), TokenKeys::from_key_sets(access, refresh).unwrap()).unwrap()
}

fn access_token(tokens: &TokenService) -> String {
    tokens
        .issue_at(TokenKind::Access, "user", "session", jwt_session_token::unix_now())
        .unwrap()
        .token
}

fn remote(server: &JwksServer, cooldown: Duration) -> RemoteJwks {
    let options = RemoteJwksOptions::default().cooldown(cooldown).timeout(Duration::from_secs(2));
    RemoteJwks::new(&server.url(), settings(), options).unwrap()
}

#[tokio::test]
async fn cached_keys_serve_later_tokens_without_a_fetch() {
    let tokens = issuer("k1");
    let server = JwksServer::start(tokens.jwks().to_json());
    let verifier = remote(&server, Duration::from_secs(60));

    for _ in 0..5 {
        let claims = verifier.verify(&access_token(&tokens), TokenKind::Access).await.unwrap();
        assert_eq!(claims.sub, "user");
    }

    assert_eq!((verifier.fetch_count(), server.hits()), (1, 1));
}

#[tokio::test]
async fn unknown_kid_triggers_a_refetch_that_picks_up_the_rotated_key() {
    let tokens = issuer("k1");
    let server = JwksServer::start(tokens.jwks().to_json());
    let verifier = remote(&server, Duration::ZERO);
    let before = access_token(&tokens);
    verifier.verify(&before, TokenKind::Access).await.unwrap();

    let key = JwsKey::generate(Algorithm::EdDsa).unwrap().with_kid("k2");
    tokens.rotate_key(TokenKind::Access, key).unwrap();
    server.publish(tokens.jwks().to_json());
    let after = access_token(&tokens);

    assert!(verifier.verify(&after, TokenKind::Access).await.is_ok());
    assert!(verifier.verify(&before, TokenKind::Access).await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unknown_kids_fetch_at_most_once_per_cooldown() {
    let tokens = issuer("k1");
    let server = JwksServer::start(tokens.jwks().to_json());
    let verifier = remote(&server, Duration::from_millis(400));
    verifier.verify(&access_token(&tokens), TokenKind::Access).await.unwrap();
    let stranger = access_token(&issuer("made-up"));
    tokio::time::sleep(Duration::from_millis(450)).await;

    for _ in 0..10 {
        let refused = verifier.verify(&stranger, TokenKind::Access).await;
        assert!(matches!(refused, Err(TokenError::UnknownKid)), "{refused:?}");
    }
    assert_eq!(server.hits(), 2, "one initial fetch, one refetch within the cooldown");

    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(verifier.verify(&stranger, TokenKind::Access).await.is_err());
    assert_eq!(server.hits(), 3, "the next refetch waits for the cooldown");
    assert_eq!(verifier.fetch_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_share_one_fetch() {
    let tokens = issuer("k1");
    let server = JwksServer::start(tokens.jwks().to_json());
    server.delay_ms.store(300, Ordering::SeqCst);
    let verifier = Arc::new(remote(&server, Duration::ZERO));
    let token = access_token(&tokens);

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (verifier, token) = (Arc::clone(&verifier), token.clone());
            tokio::spawn(async move { verifier.verify(&token, TokenKind::Access).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }

    assert_eq!(server.hits(), 1, "one fetch in flight, the others waited for it");
}

#[tokio::test]
async fn cached_keys_keep_serving_while_the_jwks_host_is_down() {
    let tokens = issuer("k1");
    let mut server = JwksServer::start(tokens.jwks().to_json());
    let options = RemoteJwksOptions::default()
        .cooldown(Duration::ZERO)
        .max_age(Duration::ZERO)
        .timeout(Duration::from_secs(2));
    let verifier = RemoteJwks::new(&server.url(), settings(), options).unwrap();
    verifier.verify(&access_token(&tokens), TokenKind::Access).await.unwrap();

    server.shut_down();

    // The cache is stale at once (max_age 0): each call tries the host and fails.
    for _ in 0..3 {
        let claims = verifier.verify(&access_token(&tokens), TokenKind::Access).await;
        assert_eq!(claims.unwrap().sub, "user");
    }
    assert!(verifier.fetch_count() >= 4);
    let stranger = access_token(&issuer("made-up"));
    let refused = verifier.verify(&stranger, TokenKind::Access).await;
    assert!(matches!(refused, Err(TokenError::UnknownKid)), "{refused:?}");
    assert!(verifier.refresh().await.is_err());
    assert_eq!(verifier.cached_keys().len(), 1);
}

#[tokio::test]
async fn cold_cache_with_the_host_down_reports_the_jwks_unavailable() {
    let mut server = JwksServer::start(String::new());
    let url = server.url();
    server.shut_down();
    let options = RemoteJwksOptions::default().timeout(Duration::from_secs(2));
    let verifier = RemoteJwks::new(&url, settings(), options).unwrap();

    let refused = verifier.verify(&access_token(&issuer("k1")), TokenKind::Access).await;

    assert!(matches!(refused, Err(TokenError::JwksUnavailable(_))), "{refused:?}");
    let again = verifier.verify(&access_token(&issuer("k1")), TokenKind::Access).await;
    assert!(matches!(again, Err(TokenError::JwksUnavailable(_))), "{again:?}");
    assert_eq!(verifier.fetch_count(), 1, "the cooldown holds after a failure too");
}

#[tokio::test]
async fn jwks_url_must_be_http_or_https() {
    for url in ["file:///etc/passwd", "not a url"] {
        let built = RemoteJwks::new(url, settings(), RemoteJwksOptions::default());
        assert!(matches!(built, Err(TokenError::InvalidSettings(_))), "{url}");
    }
}
