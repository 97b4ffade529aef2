//! Reading tokens, secrets and keys from arguments, files, stdin and the
//! environment, and turning them into the crate's keys.

use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_session_token::{Algorithm, JwsKey, KeySet, TokenError};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::cli::KeySource;
use crate::failure::Failure;

/// The environment variable an HMAC secret may come from.
pub(crate) const SECRET_ENV: &str = "TOKENCTL_SECRET";

/// What the key will be used for: signing refuses weak secrets and public
/// keys; verifying accepts both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Sign { allow_weak: bool },
    Verify,
}

/// The most any input is read: far more than any token, key, JWKS or claims
/// set, so that a wrong file or an endless pipe stops with a message.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Bytes of a file, or of stdin for `-`, at most [`MAX_INPUT_BYTES`]. `what`
/// names the argument.
pub(crate) fn read_bytes(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut bytes = Zeroizing::new(Vec::new());
    let source =
        if path == Path::new("-") { "stdin".to_owned() } else { format!("`{}`", path.display()) };
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            Failure::usage(format!("{what}: cannot read {source}: {e}; give a readable file"))
        })?)
    };
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("{what}: cannot read {source}: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::usage(format!(
            "{what}: {source} holds more than 16 MiB, which no token, key or claims set needs; \
             give the right input"
        )));
    }
    Ok(bytes)
}

/// A token given as an argument, or read from stdin for `-`; surrounding
/// whitespace is dropped.
pub(crate) fn read_token(arg: &str) -> Result<String, Failure> {
    let text = if arg == "-" {
        let bytes = read_bytes(Path::new("-"), "TOKEN")?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Failure::usage("TOKEN: stdin is not UTF-8 text; pipe the token itself"))?
    } else {
        arg.to_owned()
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::usage(
            "TOKEN: the token is empty; pass it as an argument or pipe it with -",
        ));
    }
    Ok(token.to_owned())
}

/// Claims from `--claims`: a JSON object, or `@FILE`.
pub(crate) fn read_claims(arg: Option<&str>) -> Result<Map<String, Value>, Failure> {
    let Some(arg) = arg else {
        return Ok(Map::new());
    };
    let text = match arg.strip_prefix('@') {
        Some(path) => {
            let bytes = read_bytes(Path::new(path), "--claims")?;
            String::from_utf8(bytes.to_vec())
                .map_err(|_| Failure::usage("--claims: the file is not UTF-8 text"))?
        }
        None => arg.to_owned(),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(claims)) => Ok(claims),
        Ok(_) => Err(Failure::usage("--claims: give a JSON object, e.g. '{\"role\":\"admin\"}'")),
        Err(e) => {
            Err(Failure::usage(format!("--claims: not valid JSON ({e}); give a JSON object")))
        }
    }
}

/// Refuses two inputs that would both read stdin.
pub(crate) fn one_stdin(uses: &[(&str, bool)]) -> Result<(), Failure> {
    let readers: Vec<_> = uses.iter().filter(|(_, stdin)| *stdin).map(|(name, _)| *name).collect();
    if readers.len() > 1 {
        return Err(Failure::usage(format!(
            "{} all read stdin; only one can, give the others as files",
            readers.join(" and ")
        )));
    }
    Ok(())
}

/// Whether a key source reads stdin.
pub(crate) fn source_reads_stdin(source: &KeySource) -> bool {
    [&source.secret_file, &source.key, &source.jwk]
        .into_iter()
        .any(|path| path.as_deref() == Some(Path::new("-")))
}

/// A loaded key and what tokenctl should say about it.
pub(crate) struct LoadedKey {
    pub(crate) key: JwsKey,
    /// A warning for stderr (weak secret), if any.
    pub(crate) warning: Option<String>,
}

/// The key of `source` for `purpose`; `alg` pins the algorithm.
pub(crate) fn load_key(
    source: &KeySource,
    alg: Option<Algorithm>,
    purpose: Purpose,
) -> Result<LoadedKey, Failure> {
    if let Some(secret) = &source.secret {
        return hmac_key(secret.as_bytes(), alg, purpose, "--secret");
    }
    if let Some(path) = &source.secret_file {
        let bytes = read_bytes(path, "--secret-file")?;
        return hmac_key(strip_newline(&bytes), alg, purpose, "--secret-file");
    }
    if let Some(path) = &source.key {
        let pem = read_bytes(path, "--key")?;
        let key = pem_key(&pem, alg, "--key")?;
        return checked_for(key, purpose, "--key");
    }
    if let Some(path) = &source.jwk {
        return jwk_key(&read_bytes(path, "--jwk")?, alg, purpose);
    }
    if let Some(secret) = std::env::var_os(SECRET_ENV) {
        let secret = Zeroizing::new(secret.into_encoded_bytes());
        return hmac_key(&secret, alg, purpose, SECRET_ENV);
    }
    Err(Failure::usage(format!(
        "no key given: use --secret-file F (- for stdin), the {SECRET_ENV} environment \
         variable, --secret S, --key PEM or --jwk F (see --help)"
    )))
}

/// A verify-only key set from a JWKS file.
pub(crate) fn jwks_key_set(path: &Path) -> Result<KeySet, Failure> {
    let bytes = read_bytes(path, "--jwks")?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage("--jwks: the file is not UTF-8 JSON"))?;
    KeySet::from_jwks(text).map_err(|e| {
        Failure::usage(format!("--jwks: {e}; give a JWK Set {{\"keys\":[...]}} with public keys"))
    })
}

/// A PEM key: for `alg` if given, else for the algorithm its type implies
/// (the curve for EC and Ed25519, RS256 for RSA).
pub(crate) fn pem_key(pem: &[u8], alg: Option<Algorithm>, what: &str) -> Result<JwsKey, Failure> {
    let explain = |e: TokenError| match e {
        TokenError::KeyMismatch { .. } => {
            Failure::usage(format!("{what}: {e}; pass the --alg that fits this key"))
        }
        e => Failure::usage(format!("{what}: {e}; give a PEM private or public key")),
    };
    if let Some(alg) = alg {
        if alg.is_symmetric() {
            return Err(Failure::usage(format!(
                "{what}: {alg} needs an HMAC secret (--secret-file, {SECRET_ENV}, --secret or \
                 an oct --jwk), not a PEM key"
            )));
        }
        return JwsKey::from_pem(alg, pem).map_err(explain);
    }
    let candidates =
        [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Es384, Algorithm::Es512, Algorithm::Rs256];
    let mut last = None;
    for alg in candidates {
        match JwsKey::from_pem(alg, pem) {
            Ok(key) => return Ok(key),
            Err(e @ TokenError::KeyMismatch { .. }) => last = Some(e),
            Err(e) => return Err(explain(e)),
        }
    }
    Err(Failure::usage(format!(
        "{what}: the key is not RSA, EC (P-256, P-384, P-521) or Ed25519{}",
        last.map(|e| format!(" ({e})")).unwrap_or_default()
    )))
}

fn jwk_key(bytes: &[u8], alg: Option<Algorithm>, purpose: Purpose) -> Result<LoadedKey, Failure> {
    let jwk: Value = serde_json::from_slice(bytes)
        .map_err(|e| Failure::usage(format!("--jwk: not JSON ({e}); give one JWK object")))?;
    let Some(map) = jwk.as_object() else {
        return Err(Failure::usage("--jwk: give one JWK object"));
    };
    if map.contains_key("keys") {
        return Err(Failure::usage(
            "--jwk: this is a JWK Set; use --jwks FILE to verify with it, or give one key",
        ));
    }
    let declared =
        match map.get("alg").and_then(Value::as_str) {
            Some(name) => Some(Algorithm::from_name(name).ok_or_else(|| {
                Failure::usage(format!("--jwk: its alg `{name}` is not supported"))
            })?),
            None => None,
        };
    if let (Some(given), Some(declared)) = (alg, declared) {
        if given != declared {
            return Err(Failure::usage(format!(
                "--jwk: the key is for {declared}, not the --alg {given}; drop --alg or use \
                 the right key"
            )));
        }
    }
    let kty = map.get("kty").and_then(Value::as_str).unwrap_or_default();
    let alg = alg.or(declared).or(match kty {
        "RSA" => Some(Algorithm::Rs256),
        "oct" => Some(Algorithm::Hs256),
        _ => None,
    });

    if kty == "oct" {
        let k = map
            .get("k")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::usage("--jwk: an oct JWK needs its secret in `k`"))?;
        let secret = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(k)
                .map_err(|_| Failure::usage("--jwk: `k` is not base64url without padding"))?,
        );
        let mut loaded = hmac_key(&secret, alg, purpose, "--jwk")?;
        if let Some(kid) = map.get("kid").and_then(Value::as_str) {
            loaded.key = loaded.key.with_kid(kid);
        }
        return Ok(loaded);
    }
    let key = JwsKey::from_jwk(&jwk, alg).map_err(|e| {
        Failure::usage(format!(
            "--jwk: {e}; give an RSA, EC, OKP or oct JWK (with --alg if it has no alg)"
        ))
    })?;
    checked_for(key, purpose, "--jwk")
}

fn checked_for(key: JwsKey, purpose: Purpose, what: &str) -> Result<LoadedKey, Failure> {
    if matches!(purpose, Purpose::Sign { .. }) && !key.can_sign() {
        return Err(Failure::usage(format!(
            "{what}: this is a public key and cannot sign; give the private key"
        )));
    }
    Ok(LoadedKey { key, warning: None })
}

fn hmac_key(
    secret: &[u8],
    alg: Option<Algorithm>,
    purpose: Purpose,
    what: &str,
) -> Result<LoadedKey, Failure> {
    let alg = alg.unwrap_or(Algorithm::Hs256);
    if !alg.is_symmetric() {
        return Err(Failure::usage(format!(
            "{what}: a secret is an HMAC key (HS256, HS384, HS512); {alg} needs --key PEM or --jwk F"
        )));
    }
    match JwsKey::hmac(alg, secret) {
        Ok(key) => Ok(LoadedKey { key, warning: None }),
        Err(TokenError::WeakKey { len, min }) if len > 0 => {
            let weak = format!("the secret from {what} is {len} bytes; {alg} needs at least {min}");
            match purpose {
                Purpose::Verify => Ok(LoadedKey {
                    key: JwsKey::hmac_verify_only(alg, secret).map_err(|e| bad_secret(what, &e))?,
                    warning: Some(format!(
                        "warning: {weak}: it still verifies, but it is too weak to sign with"
                    )),
                }),
                Purpose::Sign { allow_weak: true } => Ok(LoadedKey {
                    key: JwsKey::insecure_weak_hmac(alg, secret)
                        .map_err(|e| bad_secret(what, &e))?,
                    warning: Some(format!(
                        "warning: {weak}: signing anyway because of --allow-weak-key (insecure)"
                    )),
                }),
                Purpose::Sign { allow_weak: false } => Err(Failure::usage(format!(
                    "{weak}: make one with `tokenctl secret`, or pass --allow-weak-key to sign \
                     anyway (insecure: a short secret can be guessed from any token)"
                ))),
            }
        }
        Err(e) => Err(bad_secret(what, &e)),
    }
}

fn bad_secret(what: &str, e: &TokenError) -> Failure {
    Failure::usage(format!("{what}: {e}; give a secret of random bytes (`tokenctl secret`)"))
}

/// A secret file's bytes without one trailing newline (`\n` or `\r\n`).
fn strip_newline(bytes: &[u8]) -> &[u8] {
    match bytes.strip_suffix(b"\n") {
        Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
        None => bytes,
    }
}
