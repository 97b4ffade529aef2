//! A JWKS fetched over HTTP(S), cached, and refetched when a token names a
//! key the cache does not hold (cargo feature `jwks-fetch`).

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::claims::{Claims, Verified};
use crate::service::unix_now;
use crate::verify::{claims_from, verified_from, verify_token};
use crate::{KeySet, TokenError, TokenKind, TokenSettings};

/// How a [`RemoteJwks`] fetches and caches.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteJwksOptions {
    /// Least time between two fetch attempts, successful or not, except the
    /// first. Default: 30 seconds.
    pub cooldown: Duration,
    /// Age after which the cached keys are refetched on the next
    /// verification (failures keep the cached keys). Default: 1 hour.
    pub max_age: Duration,
    /// Longest wait for the whole fetch. Default: 5 seconds.
    pub timeout: Duration,
    /// Largest JWKS accepted, in bytes. Default: 262 144 (256 KiB).
    pub max_bytes: usize,
}

impl Default for RemoteJwksOptions {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            max_bytes: 256 * 1024,
        }
    }
}

impl RemoteJwksOptions {
    /// These options with another cooldown.
    #[must_use]
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// These options with another maximum cache age.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// These options with another fetch timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Verifies tokens against the JWKS an issuer publishes at a URL.
///
/// The keys are fetched on first use and cached. A token whose `kid` the
/// cache does not hold triggers a refetch, so the issuer's rotations are
/// followed, but at most one fetch runs at a time (concurrent callers wait
/// for it and then use its result) and at most one starts per
/// [`cooldown`](RemoteJwksOptions::cooldown), so tokens with made-up kids
/// cannot make this service hammer the issuer. When the JWKS host is down,
/// the cached keys keep serving. Verification itself is that of
/// [`JwksVerifier`](crate::JwksVerifier) and never waits on the network
/// when the key is cached and fresh.
#[derive(Debug)]
pub struct RemoteJwks {
    url: reqwest::Url,
    client: reqwest::Client,
    settings: TokenSettings,
    options: RemoteJwksOptions,
    cache: RwLock<Cache>,
    /// Held for the whole of a fetch; holds when the last attempt started.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

#[derive(Clone, Debug)]
struct Cache {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
}

impl RemoteJwks {
    /// A verifier for the JWKS at `url` (`http` or `https`), with these
    /// settings (`issuer`, `audience`, `leeway_secs`, `max_token_bytes`).
    /// Nothing is fetched yet.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidSettings`] for a bad URL or setting;
    /// [`TokenError::JwksUnavailable`] if the HTTP client cannot be built.
    pub fn new(
        url: &str,
        settings: TokenSettings,
        options: RemoteJwksOptions,
    ) -> Result<Self, TokenError> {
        settings.validate()?;
        let url = reqwest::Url::parse(url)
            .map_err(|_| TokenError::InvalidSettings("jwks url is not a url"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TokenError::InvalidSettings("jwks url is not http or https"));
        }
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TokenError::JwksUnavailable(Box::new(e)))?;
        Ok(Self {
            url,
            client,
            settings,
            options,
            cache: RwLock::new(Cache { keys: Arc::new(KeySet::empty()), fetched_at: None }),
            fetching: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// Verifies `token` as a token of `kind` now and returns its claims.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the token was refused;
    /// [`TokenError::JwksUnavailable`] when no keys could be fetched yet.
    pub async fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        self.verify_at(token, kind, unix_now()).await
    }

    /// As [`verify`](Self::verify), at `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub async fn verify_at(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let payload = self.verified_payload(token, kind, now).await?;
        claims_from(&payload, &self.settings, now)
    }

    /// As [`verify_at`](Self::verify_at), also reading the caller's own
    /// claims of type `C`.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); [`TokenError::CustomClaims`] when the
    /// payload does not deserialize into `C`.
    pub async fn verify_custom_at<C: DeserializeOwned>(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Verified<C>, TokenError> {
        let payload = self.verified_payload(token, kind, now).await?;
        verified_from(&payload, &self.settings, now)
    }

    /// Fetches the JWKS now, ignoring the cooldown (but joining a fetch
    /// already running), for example from a periodic task.
    ///
    /// # Errors
    ///
    /// [`TokenError::JwksUnavailable`] or [`TokenError::InvalidJwks`]; the
    /// cached keys are kept.
    pub async fn refresh(&self) -> Result<(), TokenError> {
        let seen = self.cached().keys;
        self.refetch(&seen, true).await
    }

    /// The keys cached now (empty before the first successful fetch).
    pub fn cached_keys(&self) -> Arc<KeySet> {
        self.cached().keys
    }

    /// How many fetches were started so far, successful or not.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn verified_payload(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Vec<u8>, TokenError> {
        let mut cache = self.cached();
        let stale = cache.fetched_at.is_some_and(|at| at.elapsed() >= self.options.max_age);
        if stale {
            // A failed refresh of stale keys is not the token's fault: the
            // cached keys keep serving until the host is back. Nor does this
            // call queue behind a fetch already running for stale keys.
            if let Ok(last_attempt) = self.fetching.try_lock() {
                let _ = self.refetch_locked(last_attempt, &cache.keys, false).await;
            }
            cache = self.cached();
        }

        match verify_token(&cache.keys, &self.settings, token, kind, now) {
            Err(TokenError::UnknownKid) => {}
            other => return other,
        }
        let fetched = self.refetch(&cache.keys, false).await;
        let cache = self.cached();
        if cache.keys.is_empty() {
            return Err(match fetched {
                Err(error) => error,
                Ok(()) => TokenError::JwksUnavailable("no jwks fetched yet".into()),
            });
        }
        verify_token(&cache.keys, &self.settings, token, kind, now)
    }

    /// Fetches unless another caller replaced `seen` while this one waited
    /// for the fetch lock, or (unless `force`) the cooldown has not passed.
    async fn refetch(&self, seen: &Arc<KeySet>, force: bool) -> Result<(), TokenError> {
        let last_attempt = self.fetching.lock().await;
        self.refetch_locked(last_attempt, seen, force).await
    }

    async fn refetch_locked(
        &self,
        mut last_attempt: tokio::sync::MutexGuard<'_, Option<Instant>>,
        seen: &Arc<KeySet>,
        force: bool,
    ) -> Result<(), TokenError> {
        if !Arc::ptr_eq(&self.cached().keys, seen) {
            return Ok(());
        }
        let cooling = last_attempt.is_some_and(|at| at.elapsed() < self.options.cooldown);
        if cooling && !force {
            return Ok(());
        }
        *last_attempt = Some(Instant::now());

        let keys = self.fetch().await?;
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        *cache = Cache { keys: Arc::new(keys), fetched_at: Some(Instant::now()) };
        Ok(())
    }

    async fn fetch(&self) -> Result<KeySet, TokenError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let unavailable = |e: Box<dyn Error + Send + Sync>| TokenError::JwksUnavailable(e);

        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| unavailable(Box::new(e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("jwks host answered {status}").into()));
        }

        let max = self.options.max_bytes;
        let too_large = || TokenError::InvalidJwks("document is larger than max_bytes");
        if response.content_length().is_some_and(|len| len > max as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(Box::new(e)))? {
            if body.len() + chunk.len() > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|_| TokenError::InvalidJwks("not utf-8"))?;
        KeySet::from_jwks(text)
    }

    fn cached(&self) -> Cache {
        self.cache.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
