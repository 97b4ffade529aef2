//! One function per subcommand.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jwt_session_token::{new_id, unverified, Algorithm, ClaimRules, Jwks, JwsKey, KeySet};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::cli::{
    AppTokenArgs, DecodeArgs, JwksArgs, KeygenArgs, MintArgs, SecretArgs, VerifyArgs,
};
use crate::failure::{Failure, Outcome};
use crate::input::{self, Purpose};
use crate::time::{now, utc};

/// The shortest and longest `secret --bytes`.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 32..=1024;

/// `tokenctl secret`.
pub(crate) fn secret(args: &SecretArgs) -> Outcome {
    if !SECRET_BYTES.contains(&args.bytes) {
        return Err(Failure::usage(format!(
            "--bytes: {} is out of range; give {} to {} (32 bytes is enough for HS256)",
            args.bytes,
            SECRET_BYTES.start(),
            SECRET_BYTES.end()
        )));
    }
    let mut bytes = Zeroizing::new(vec![0u8; args.bytes]);
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|e| Failure::usage(format!("no random bytes from the system: {e}")))?;
    let encoded = Zeroizing::new(STANDARD.encode(&*bytes));
    outln!("{}", encoded.as_str());
    Ok(ExitCode::SUCCESS)
}

/// `tokenctl keygen`.
pub(crate) fn keygen(args: &KeygenArgs) -> Outcome {
    if args.alg.is_symmetric() {
        return Err(Failure::usage(format!(
            "--alg: {} is HMAC, which has no key pair; make a secret with `tokenctl secret`, \
             or choose RS*, PS*, ES* or EdDSA",
            args.alg
        )));
    }
    let names = ["private.pem", "public.pem", "private.jwk.json", "public.jwks.json"];
    let paths: Vec<_> = names.iter().map(|name| args.out.join(name)).collect();
    if !args.force {
        if let Some(taken) = paths.iter().find(|path| path.exists()) {
            return Err(Failure::usage(format!(
                "--out: `{}` already exists; nothing was written. Choose another --out \
                 directory, or pass --force to overwrite",
                taken.display()
            )));
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        Failure::usage(format!("--out: cannot create `{}`: {e}", args.out.display()))
    })?;

    let mut key = JwsKey::generate(args.alg)
        .map_err(|e| Failure::usage(format!("cannot generate a {} key: {e}", args.alg)))?;
    if let Some(kid) = &args.kid {
        key = key.with_kid(kid.as_str());
    }
    let export = |e| Failure::usage(format!("cannot export the new key: {e}"));
    let private_pem = key.private_key_pem().map_err(export)?;
    let private_jwk = key.private_jwk().map_err(export)?;
    let public_pem = key.public_key_pem().ok_or_else(|| Failure::usage("no public key"))?;
    let jwks = KeySet::verify_only([key]).map_err(export)?.jwks();
    let jwks_json = serde_json::to_string_pretty(&jwks).map_err(Failure::usage)?;

    write_file(&paths[0], private_pem.as_bytes(), true, args.force)?;
    write_file(&paths[1], public_pem.as_bytes(), false, args.force)?;
    write_file(&paths[2], format!("{}\n", private_jwk.as_str()).as_bytes(), true, args.force)?;
    write_file(&paths[3], format!("{jwks_json}\n").as_bytes(), false, args.force)?;

    let kid = jwks.keys[0].get("kid").and_then(Value::as_str).unwrap_or_default();
    outln!("{} key pair, kid {kid}", args.alg);
    for path in &paths {
        outln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a new file; private ones get mode 0600 from the start. With
/// `force` an existing file is replaced (removed first, so that the new one
/// gets the mode too).
fn write_file(path: &Path, bytes: &[u8], private: bool, force: bool) -> Result<(), Failure> {
    let failed = |e: std::io::Error| {
        Failure::usage(format!("--out: cannot write `{}`: {e}", path.display()))
    };
    if force && path.exists() {
        std::fs::remove_file(path).map_err(failed)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// `tokenctl mint`.
pub(crate) fn mint(args: &MintArgs) -> Outcome {
    let purpose = Purpose::Sign { allow_weak: args.allow_weak_key };
    let loaded = input::load_key(&args.source, args.alg, purpose)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("{warning}");
    }

    let mut claims = input::read_claims(args.claims.as_deref())?;
    for (name, value) in [("sub", &args.sub), ("iss", &args.iss), ("aud", &args.aud)] {
        if let Some(value) = value {
            claims.insert(name.into(), value.as_str().into());
        }
    }
    fill_times(&mut claims, args.ttl)?;

    let mut header = Map::new();
    header.insert("typ".into(), args.typ.as_str().into());
    if let Some(kid) = args.kid.as_deref().or(loaded.key.kid()) {
        header.insert("kid".into(), kid.into());
    }
    print_signed(&loaded.key, &header, &claims)
}

/// `tokenctl app-token`.
pub(crate) fn app_token(args: &AppTokenArgs) -> Outcome {
    let pem = input::read_bytes(&args.private_key, "--private-key")?;
    // The key's own type first, so that a wrong one is named as such.
    let key = input::pem_key(&pem, None, "--private-key")?;
    if key.algorithm() != Algorithm::Rs256 {
        return Err(Failure::usage(format!(
            "--private-key: app-token signs RS256 and needs an RSA private key PEM; this key \
             is for {}",
            key.algorithm().as_str()
        )));
    }
    if !key.can_sign() {
        return Err(Failure::usage(
            "--private-key: this is a public key; give the RSA private key PEM",
        ));
    }
    let mut claims = input::read_claims(args.claims.as_deref())?;
    claims.insert("application_id".into(), args.application_id.as_str().into());
    fill_times(&mut claims, args.ttl)?;

    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    print_signed(&key, &header, &claims)
}

/// Fills in `iat` (now), `exp` (`iat` + `ttl`) and `jti` unless present.
fn fill_times(claims: &mut Map<String, Value>, ttl: u64) -> Result<(), Failure> {
    let iat = match claims.get("iat") {
        None => now(),
        Some(iat) => iat.as_u64().ok_or_else(|| {
            Failure::usage("--claims: `iat` must be whole seconds since 1970 (or leave it out)")
        })?,
    };
    claims.insert("iat".into(), iat.into());
    if !claims.contains_key("exp") {
        let exp = iat.checked_add(ttl).ok_or_else(|| Failure::usage("--ttl: too long"))?;
        claims.insert("exp".into(), exp.into());
    }
    if !claims.contains_key("jti") {
        claims.insert("jti".into(), new_id().into());
    }
    Ok(())
}

fn print_signed(key: &JwsKey, header: &Map<String, Value>, claims: &Map<String, Value>) -> Outcome {
    let payload = Value::Object(claims.clone()).to_string();
    let token = key
        .sign_compact(header, payload.as_bytes())
        .map_err(|e| Failure::usage(format!("cannot sign: {e}")))?;
    outln!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// `tokenctl decode`.
pub(crate) fn decode(args: &DecodeArgs) -> Outcome {
    let token = input::read_token(&args.token)?;
    let jws = unverified::decode(&token).map_err(|e| {
        Failure::usage(format!("TOKEN: {e}; a JWT is three base64url parts joined by dots"))
    })?;

    outln!("NOT VERIFIED: this shows what the token says; no signature or claim was checked.");
    outln!("header:");
    outln!("{}", pretty(&Value::Object(jws.header.clone())));
    match jws.claims() {
        Some(claims) => {
            outln!("claims:");
            outln!("{}", pretty(&Value::Object(claims.clone())));
            let times: Vec<_> = ["iat", "nbf", "exp"]
                .into_iter()
                .filter_map(|name| Some((name, claims.get(name)?.as_u64()?)))
                .collect();
            if !times.is_empty() {
                outln!("times (UTC):");
                for (name, seconds) in times {
                    outln!("  {name}: {seconds} = {}", utc(seconds));
                }
            }
        }
        None => match std::str::from_utf8(&jws.payload) {
            Ok(text) => outln!("payload (not a JSON claims set):\n{text}"),
            Err(_) => outln!(
                "payload (not a JSON claims set, {} bytes of binary, base64): {}",
                jws.payload.len(),
                STANDARD.encode(&jws.payload)
            ),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// `tokenctl verify`.
pub(crate) fn verify(args: &VerifyArgs) -> Outcome {
    let jwks_stdin = args.jwks.as_deref() == Some(Path::new("-"));
    input::one_stdin(&[
        ("TOKEN -", args.token == "-"),
        ("the key file -", input::source_reads_stdin(&args.source) || jwks_stdin),
    ])?;
    let token = input::read_token(&args.token)?;
    let decoded = unverified::decode(&token);
    let named_kid = decoded.as_ref().ok().and_then(|jws| jws.header.get("kid")?.as_str());
    let keys = match &args.jwks {
        Some(path) => input::jwks_key_set(path)?,
        None => {
            let loaded = input::load_key(&args.source, args.alg, Purpose::Verify)?;
            if let Some(warning) = &loaded.warning {
                eprintln!("{warning}");
            }
            // One key given by hand is the key to check with, whatever `kid`
            // the token names (a PEM carries none; its default is the
            // thumbprint): the signature and the pinned algorithm decide.
            let key = match named_kid {
                Some(kid) => loaded.key.with_kid(kid),
                None => loaded.key,
            };
            KeySet::verify_only([key]).map_err(|e| Failure::usage(format!("unusable key: {e}")))?
        }
    };

    let mut report = Report::default();
    let jws = match &decoded {
        Ok(jws) => jws,
        Err(e) => {
            report.line("format", Err(e.to_string()));
            return Ok(report.finish());
        }
    };
    report.line("format", Ok("compact JWS".into()));

    let header_alg = jws.header.get("alg").and_then(Value::as_str).unwrap_or("(none)");
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let expected = args.alg.or_else(|| selected_key(&keys, kid).map(JwsKey::algorithm));
    let alg_ok = match expected {
        Some(expected) if expected.as_str() == header_alg => Ok(header_alg.to_owned()),
        Some(expected) => Err(format!("the token says `{header_alg}`, the key is for {expected}")),
        None => {
            Err(format!("no key for kid {}", kid.map_or("(none)".into(), |k| format!("`{k}`"))))
        }
    };
    let alg_passed = alg_ok.is_ok();
    report.line("alg", alg_ok);
    if !alg_passed {
        report.skip("signature", "not checked: the algorithm is wrong");
        return Ok(report.finish());
    }

    if let Err(e) = keys.verify_compact(&token) {
        report.line("signature", Err(e.to_string()));
        report.skip("claims", "not checked: the signature does not hold");
        return Ok(report.finish());
    }
    report.line("signature", Ok(kid.map(|kid| format!("kid {kid}")).unwrap_or_default()));

    let rules = ClaimRules {
        issuer: args.iss.clone(),
        audience: args.aud.clone(),
        typ: args.typ.clone(),
        leeway_secs: args.leeway,
        check_times: !args.no_time_checks,
    };
    let claims = match jws.claims() {
        Some(claims) => claims,
        None => {
            report.skip("payload", "not a JSON claims set; checked by signature alone");
            for (name, asked) in [("iss", args.iss.is_some()), ("aud", args.aud.is_some())] {
                if asked {
                    report.line(name, Err("the payload is not a claims set".into()));
                }
            }
            let typ_only =
                ClaimRules { typ: rules.typ, check_times: false, ..ClaimRules::default() };
            for check in typ_only.check(&jws.header, &Map::new(), 0) {
                report.line(
                    check.name,
                    check.outcome.map(|()| String::new()).map_err(|e| e.to_string()),
                );
            }
            return Ok(report.finish());
        }
    };
    let now = now();
    for check in rules.check(&jws.header, &claims, now) {
        let when = claims
            .get(check.name)
            .and_then(Value::as_u64)
            .filter(|_| matches!(check.name, "exp" | "nbf" | "iat"));
        let detail = when.map(utc).unwrap_or_default();
        report.line(
            check.name,
            check.outcome.map(|()| detail.clone()).map_err(|e| {
                if detail.is_empty() {
                    e.to_string()
                } else {
                    format!("{e}: {detail}")
                }
            }),
        );
    }
    if args.no_time_checks {
        report.skip("exp, nbf, iat", "skipped (--no-time-checks)");
    }
    Ok(report.finish())
}

/// The key a token naming `kid` selects: the one with that kid, or the only
/// key when the token names none.
fn selected_key<'a>(keys: &'a KeySet, kid: Option<&str>) -> Option<&'a JwsKey> {
    match kid {
        Some(kid) if keys.contains_kid(kid) => keys.keys().find(|key| key.kid() == Some(kid)),
        _ if keys.len() == 1 => keys.keys().next(),
        _ => None,
    }
}

/// The lines `verify` prints, and whether every check passed.
#[derive(Default)]
struct Report {
    failed: usize,
    passed: usize,
}

impl Report {
    fn line(&mut self, name: &str, outcome: Result<String, String>) {
        match outcome {
            Ok(detail) => {
                self.passed += 1;
                let detail = if detail.is_empty() { String::new() } else { format!(" ({detail})") };
                outln!("{name}: ok{detail}");
            }
            Err(why) => {
                self.failed += 1;
                outln!("{name}: FAILED ({why})");
            }
        }
    }

    fn skip(&self, name: &str, why: &str) {
        outln!("{name}: {why}");
    }

    fn finish(self) -> ExitCode {
        if self.failed == 0 {
            outln!("result: valid ({} checks passed)", self.passed);
            ExitCode::SUCCESS
        } else {
            outln!(
                "result: INVALID ({} of {} checks failed)",
                self.failed,
                self.failed + self.passed
            );
            ExitCode::from(1)
        }
    }
}

/// `tokenctl jwks`.
pub(crate) fn jwks(args: &JwksArgs) -> Outcome {
    if !args.kid.is_empty() && args.kid.len() != args.pems.len() {
        return Err(Failure::usage(format!(
            "--kid: given {} times for {} PEM files; give one per file, in order, or none",
            args.kid.len(),
            args.pems.len()
        )));
    }
    if args.pems.iter().filter(|p| p.as_path() == Path::new("-")).count() > 1 {
        return Err(Failure::usage("PEM: - (stdin) can be given once only"));
    }
    let mut keys = Vec::new();
    for (index, path) in args.pems.iter().enumerate() {
        let what = format!("PEM `{}`", path.display());
        let pem = input::read_bytes(path, &what)?;
        let mut key = input::pem_key(&pem, args.alg, &what)?;
        if let Some(kid) = args.kid.get(index) {
            key = key.with_kid(kid.as_str());
        }
        keys.push(key);
    }
    let set = KeySet::verify_only(keys)
        .map_err(|e| Failure::usage(format!("PEM: {e}; give each key its own --kid")))?;
    let jwks: Jwks = set.jwks();
    outln!("{}", serde_json::to_string_pretty(&jwks).map_err(Failure::usage)?);
    Ok(ExitCode::SUCCESS)
}
