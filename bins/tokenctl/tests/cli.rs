//! The real `tokenctl` binary, run on real files in temporary directories.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// The reference's known-good token: HS256, secret `my-secret-key`, no `exp`.
const KNOWN_GOOD: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdXRob3JpemVkIjp0cnVlLCJ1c2VyX2lkIjo3fQ.bK73DLHVXVmtLXBYwl_TVLVf21OEJ0bzfZHXRbiAboA";

const ASYMMETRIC: [&str; 10] =
    ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

fn tokenctl_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenctl"));
    command.args(args).env_remove("TOKENCTL_SECRET");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // A command that refuses its arguments exits without reading stdin.
        match child.stdin.take().unwrap().write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.unwrap(),
        }
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn tokenctl(args: &[&str]) -> Run {
    tokenctl_with(args, None, &[])
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn vector(name: &str) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/jose/");
    let file = format!("{dir}{name}");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("{file}: {e}; the shared/ folder must sit beside the repository")
    });
    serde_json::from_str(&text).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// The claims of a token, decoded by `tokenctl decode`'s own input (the
/// token's middle part), without any verification.
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn header_of(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn keygen(dir: &Path, alg: &str) {
    tokenctl(&["keygen", "--alg", alg, "--out", path(dir)]).ok();
}

// ---- secret ----

#[test]
fn secret_prints_32_random_base64_bytes_by_default_and_more_on_request() {
    use base64::Engine;
    let decode = |run: Run| {
        let line = run.ok().stdout;
        assert_eq!(line.lines().count(), 1);
        base64::engine::general_purpose::STANDARD.decode(line.trim()).unwrap()
    };
    let first = decode(tokenctl(&["secret"]));
    let second = decode(tokenctl(&["secret"]));
    assert_eq!(first.len(), 32);
    assert_ne!(first, second);
    assert_eq!(decode(tokenctl(&["secret", "--bytes", "64"])).len(), 64);
}

#[test]
fn secret_shorter_than_32_bytes_is_refused() {
    let run = tokenctl(&["secret", "--bytes", "16"]).code(2);
    assert!(run.stderr.contains("--bytes"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    tokenctl(&["secret", "--bytes", "lots"]).code(2);
}

// ---- the known-good token ----

#[test]
fn known_good_token_verifies_with_its_weak_secret_and_a_warning() {
    let run =
        tokenctl(&["verify", KNOWN_GOOD, "--secret", "my-secret-key", "--no-time-checks"]).ok();
    assert!(run.stdout.contains("signature: ok"), "{}", run.stdout);
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
    assert!(run.stderr.contains("13 bytes"), "{}", run.stderr);
    assert!(run.stderr.contains("too weak to sign"), "{}", run.stderr);
    assert!(!run.stdout.contains("my-secret-key") && !run.stderr.contains("my-secret-key"));
}

#[test]
fn known_good_token_is_refused_with_any_other_secret() {
    for secret in ["my-secret-kez", "my-secret-key ", "a-much-longer-secret-of-thirty-two-bytes!"] {
        let run = tokenctl(&["verify", KNOWN_GOOD, "--secret", secret, "--no-time-checks"]);
        let run = run.code(1);
        assert!(run.stdout.contains("signature: FAILED"), "{}", run.stdout);
    }
}

#[test]
fn known_good_token_without_exp_fails_the_time_checks() {
    let run = tokenctl(&["verify", KNOWN_GOOD, "--secret", "my-secret-key"]).code(1);
    assert!(run.stdout.contains("exp: FAILED"), "{}", run.stdout);
}

#[test]
fn secret_comes_from_a_file_stdin_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "secret", "my-secret-key\n");
    tokenctl(&["verify", KNOWN_GOOD, "--secret-file", path(&file), "--no-time-checks"]).ok();
    tokenctl_with(
        &["verify", KNOWN_GOOD, "--secret-file", "-", "--no-time-checks"],
        Some("my-secret-key\n"),
        &[],
    )
    .ok();
    tokenctl_with(
        &["verify", KNOWN_GOOD, "--no-time-checks"],
        None,
        &[("TOKENCTL_SECRET", "my-secret-key")],
    )
    .ok();
    tokenctl_with(
        &["verify", KNOWN_GOOD, "--no-time-checks"],
        None,
        &[("TOKENCTL_SECRET", "wrong")],
    )
    .code(1);
}

#[test]
fn token_comes_from_stdin_with_a_dash() {
    tokenctl_with(
        &["verify", "-", "--secret", "my-secret-key", "--no-time-checks"],
        Some(&format!("{KNOWN_GOOD}\n")),
        &[],
    )
    .ok();
    let run = tokenctl_with(&["verify", "-", "--secret-file", "-"], Some(KNOWN_GOOD), &[]);
    assert!(run.code(2).stderr.contains("stdin"));
}

// ---- decode ----

#[test]
fn decode_shows_header_and_claims_and_says_nothing_was_verified() {
    let run = tokenctl(&["decode", KNOWN_GOOD]).ok();
    assert!(run.stdout.contains("NOT VERIFIED"), "{}", run.stdout);
    assert!(run.stdout.contains("\"alg\": \"HS256\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"user_id\": 7"), "{}", run.stdout);
}

#[test]
fn decode_shows_times_as_utc_dates() {
    let compact = vector("rfc7519-3.1-jwt-hs256.json")["compact"].as_str().unwrap().to_owned();
    let run = tokenctl_with(&["decode", "-"], Some(&compact), &[]).ok();
    assert!(run.stdout.contains("exp: 1300819380 = 2011-03-22T18:43:00Z"), "{}", run.stdout);
}

#[test]
fn decode_shows_a_plain_text_payload() {
    let compact = vector("rfc8037-a4-eddsa.json")["compact"].as_str().unwrap().to_owned();
    let run = tokenctl(&["decode", &compact]).ok();
    assert!(run.stdout.contains("not a JSON claims set"), "{}", run.stdout);
    assert!(run.stdout.contains("Example of Ed25519 signing"), "{}", run.stdout);
}

#[test]
fn decode_refuses_malformed_tokens_with_exit_code_2() {
    for bad in ["not-a-token", "a.b", "a.b.c.d", "!!!.e30.", "e30.e30.e30.e30.e30"] {
        let run = tokenctl(&["decode", bad]).code(2);
        assert!(run.stderr.contains("TOKEN"), "{bad}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{bad}");
    }
}

// ---- the JOSE vectors ----

#[test]
fn every_jose_vector_verifies_with_its_jwk() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "rfc7515-a1-hs256.json",
        "rfc7515-a2-rs256.json",
        "rfc7515-a3-es256.json",
        "rfc7519-3.1-jwt-hs256.json",
        "rfc8037-a4-eddsa.json",
    ] {
        let vector = vector(name);
        let jwk = write(dir.path(), name, &vector["jwk"].to_string());
        let compact = vector["compact"].as_str().unwrap();
        let alg = vector["alg"].as_str().unwrap();

        let pinned = ["verify", compact, "--jwk", path(&jwk), "--alg", alg, "--no-time-checks"];
        let run = tokenctl(&pinned).ok();
        assert!(run.stdout.contains("signature: ok"), "{name}: {}", run.stdout);
        if vector["payload_is_json"] == false {
            assert!(run.stdout.contains("not a JSON claims set"), "{name}: {}", run.stdout);
        }
        // The algorithm can also come from the key alone.
        tokenctl(&["verify", compact, "--jwk", path(&jwk), "--no-time-checks"]).ok();

        if vector["exp_in_past"] == true {
            let run = tokenctl(&["verify", compact, "--jwk", path(&jwk), "--alg", alg]).code(1);
            assert!(run.stdout.contains("exp: FAILED"), "{name}: {}", run.stdout);
        }
    }
}

#[test]
fn every_negative_jose_vector_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let negatives = vector("negatives.json");
    let cases = negatives["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let jwk = write(dir.path(), "key.json", &case["jwk"].to_string());
        let compact = case["compact"].as_str().unwrap();
        let alg = case["alg"].as_str().unwrap();
        for args in [
            vec!["verify", compact, "--jwk", path(&jwk), "--alg", alg, "--no-time-checks"],
            vec!["verify", compact, "--jwk", path(&jwk), "--no-time-checks"],
        ] {
            let run = tokenctl(&args).code(1);
            assert!(run.stdout.contains("FAILED"), "{id}: {}", run.stdout);
            assert!(run.stdout.contains("result: INVALID"), "{id}: {}", run.stdout);
        }
    }
}

// ---- keygen, mint, verify ----

#[test]
fn keygen_writes_four_files_with_private_ones_readable_by_the_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    let run = tokenctl(&["keygen", "--alg", "ES256", "--kid", "2026-01", "--out", path(&out)]).ok();
    assert!(!run.stdout.contains("PRIVATE"), "{}", run.stdout);

    let private = std::fs::read_to_string(out.join("private.pem")).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    let public = std::fs::read_to_string(out.join("public.pem")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("private.jwk.json")).unwrap())
            .unwrap();
    assert_eq!(
        (&jwk["kid"], &jwk["alg"], &jwk["kty"]),
        (&json!("2026-01"), &json!("ES256"), &json!("EC"))
    );
    assert!(jwk["d"].is_string());
    let jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("public.jwks.json")).unwrap())
            .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!((&key["kid"], &key["alg"]), (&json!("2026-01"), &json!("ES256")));
    assert!(key.get("d").is_none(), "the JWKS must hold the public key only");

    let jwk_path = out.join("private.jwk.json");
    let token = tokenctl(&["mint", "--jwk", path(&jwk_path)]).ok().stdout;
    let jwks_path = out.join("public.jwks.json");
    let run = tokenctl(&["verify", token.trim(), "--jwks", path(&jwks_path)]).ok();
    assert!(run.stdout.contains("signature: ok (kid 2026-01)\n"), "{}", run.stdout);
    // The public PEM alone, which names no kid, checks the same token.
    let pem = out.join("public.pem");
    let run = tokenctl(&["verify", token.trim(), "--key", path(&pem)]).ok();
    assert!(run.stdout.contains("signature: ok (kid 2026-01)\n"), "{}", run.stdout);
    // A secret by hand checks a token that names a kid, and a wrong one still fails.
    let secret = "0123456789abcdef0123456789abcdef";
    let token = tokenctl(&["mint", "--secret", secret, "--kid", "k"]).ok().stdout;
    tokenctl(&["verify", token.trim(), "--secret", secret]).ok();
    tokenctl(&["verify", token.trim(), "--secret", &secret.replace('0', "x")]).code(1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for (name, mode) in [
            ("private.pem", 0o600),
            ("private.jwk.json", 0o600),
            ("public.pem", 0o644),
            ("public.jwks.json", 0o644),
        ] {
            let actual = std::fs::metadata(out.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(actual & !0o022, mode & !0o022, "{name}: {actual:o}");
            if mode == 0o600 {
                assert_eq!(actual, 0o600, "{name}");
            }
        }
    }
}

#[test]
fn keygen_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let before = std::fs::read(dir.path().join("private.pem")).unwrap();

    let run = tokenctl(&["keygen", "--alg", "EdDSA", "--out", path(dir.path())]).code(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("private.pem")).unwrap(), before);

    tokenctl(&["keygen", "--alg", "EdDSA", "--out", path(dir.path()), "--force"]).ok();
    assert_ne!(std::fs::read(dir.path().join("private.pem")).unwrap(), before);
}

#[test]
fn keygen_refuses_hmac_and_unknown_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    let run = tokenctl(&["keygen", "--alg", "HS256", "--out", path(dir.path())]).code(2);
    assert!(run.stderr.contains("tokenctl secret"), "{}", run.stderr);
    let run = tokenctl(&["keygen", "--alg", "none", "--out", path(dir.path())]).code(2);
    assert!(run.stderr.contains("EdDSA"), "{}", run.stderr);
}

#[test]
fn every_asymmetric_algorithm_round_trips_keygen_mint_verify() {
    for alg in ASYMMETRIC {
        let dir = tempfile::tempdir().unwrap();
        keygen(dir.path(), alg);
        let private = dir.path().join("private.pem");
        let jwks = dir.path().join("public.jwks.json");

        let minted = tokenctl(&[
            "mint",
            "--alg",
            alg,
            "--key",
            path(&private),
            "--sub",
            "user-1",
            "--iss",
            "me",
            "--aud",
            "you",
            "--ttl",
            "1h",
        ])
        .ok()
        .stdout;
        let token = minted.trim();
        assert_eq!(header_of(token)["alg"], alg);

        let run = tokenctl(&[
            "verify",
            token,
            "--jwks",
            path(&jwks),
            "--iss",
            "me",
            "--aud",
            "you",
            "--typ",
            "JWT",
        ])
        .ok();
        assert!(run.stdout.contains("result: valid"), "{alg}: {}", run.stdout);

        let public = dir.path().join("public.pem");
        tokenctl(&["verify", token, "--key", path(&public), "--alg", alg]).ok();

        // The private JWK signs too, and its token verifies with the JWKS.
        let jwk = dir.path().join("private.jwk.json");
        let token = tokenctl(&["mint", "--jwk", path(&jwk)]).ok().stdout;
        tokenctl(&["verify", token.trim(), "--jwks", path(&jwks)]).ok();
    }
}

#[test]
fn every_hmac_algorithm_round_trips_with_a_generated_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (alg, bytes) in [("HS256", "32"), ("HS384", "48"), ("HS512", "64")] {
        let secret = tokenctl(&["secret", "--bytes", bytes]).ok().stdout;
        let file = write(dir.path(), "secret", &secret);
        let token = tokenctl(&["mint", "--alg", alg, "--secret-file", path(&file)]).ok().stdout;
        tokenctl(&["verify", token.trim(), "--alg", alg, "--secret-file", path(&file)]).ok();
        let other = write(dir.path(), "other", &tokenctl(&["secret", "--bytes", "64"]).stdout);
        tokenctl(&["verify", token.trim(), "--alg", alg, "--secret-file", path(&other)]).code(1);
    }
}

#[test]
fn mint_fills_in_iat_exp_and_jti_unless_the_claims_give_them() {
    let secret = "0123456789abcdef0123456789abcdef";
    let token =
        tokenctl(&["mint", "--secret", secret, "--ttl", "7d", "--claims", r#"{"role":"admin"}"#])
            .ok()
            .stdout;
    let claims = claims_of(token.trim());
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 7 * 86_400);
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert_eq!(header_of(token.trim()), json!({"alg": "HS256", "typ": "JWT"}));

    let given = r#"{"iat":1000,"exp":2000,"jti":"mine"}"#;
    let token =
        tokenctl(&["mint", "--secret", secret, "--claims", given, "--kid", "k", "--typ", "at+jwt"])
            .ok()
            .stdout;
    let claims = claims_of(token.trim());
    assert_eq!(
        (&claims["iat"], &claims["exp"], &claims["jti"]),
        (&json!(1000), &json!(2000), &json!("mine"))
    );
    assert_eq!(header_of(token.trim()), json!({"alg": "HS256", "typ": "at+jwt", "kid": "k"}));
}

#[test]
fn mint_refuses_a_weak_secret_unless_allowed() {
    let run = tokenctl(&["mint", "--secret", "my-secret-key"]).code(2);
    assert!(run.stderr.contains("--allow-weak-key"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = tokenctl(&["mint", "--secret", "my-secret-key", "--allow-weak-key"]).ok();
    assert!(run.stderr.contains("insecure"), "{}", run.stderr);
    tokenctl(&["verify", run.stdout.trim(), "--secret", "my-secret-key"]).ok();
}

#[test]
fn mint_refuses_bad_input_naming_the_argument() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "0123456789abcdef0123456789abcdef";
    let run = tokenctl(&["mint", "--secret", secret, "--claims", "[1]"]).code(2);
    assert!(run.stderr.contains("--claims"), "{}", run.stderr);
    let run = tokenctl(&["mint", "--secret", secret, "--ttl", "soon"]).code(2);
    assert!(run.stderr.contains("--ttl"), "{}", run.stderr);
    let missing = dir.path().join("missing.pem");
    let run = tokenctl(&["mint", "--key", path(&missing)]).code(2);
    assert!(run.stderr.contains("--key"), "{}", run.stderr);
    let run = tokenctl(&["mint"]).code(2);
    assert!(run.stderr.contains("TOKENCTL_SECRET"), "{}", run.stderr);
    let run = tokenctl(&["mint", "--alg", "RS256", "--secret", secret]).code(2);
    assert!(run.stderr.contains("--key"), "{}", run.stderr);

    keygen(dir.path(), "ES256");
    let run = tokenctl(&["mint", "--key", path(&dir.path().join("public.pem"))]).code(2);
    assert!(run.stderr.contains("private key"), "{}", run.stderr);
    let run = tokenctl(&["mint", "--key", path(&dir.path().join("private.pem")), "--alg", "RS256"]);
    assert!(run.code(2).stderr.contains("--alg"));
}

#[test]
fn verify_fails_when_the_header_alg_differs_from_the_pinned_one() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "RS256");
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    let token = tokenctl(&["mint", "--alg", "PS256", "--key", path(&private)]).ok().stdout;

    // An RSA PEM without --alg is pinned to RS256, whatever the token says.
    let run = tokenctl(&["verify", token.trim(), "--key", path(&public)]).code(1);
    assert!(run.stdout.contains("alg: FAILED"), "{}", run.stdout);
    tokenctl(&["verify", token.trim(), "--key", path(&public), "--alg", "PS256"]).ok();
    tokenctl(&["verify", token.trim(), "--key", path(&public), "--alg", "RS256"]).code(1);
    let jwks = dir.path().join("public.jwks.json");
    tokenctl(&["verify", token.trim(), "--jwks", path(&jwks)]).code(1);
}

#[test]
fn verify_checks_each_requested_claim() {
    let secret = "0123456789abcdef0123456789abcdef";
    let token =
        tokenctl(&["mint", "--secret", secret, "--iss", "me", "--aud", "you", "--typ", "at+jwt"])
            .ok()
            .stdout;
    let token = token.trim();
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", token, "--secret", secret];
        args.extend_from_slice(extra);
        tokenctl(&args)
    };
    verify(&["--iss", "me", "--aud", "you", "--typ", "application/at+jwt"]).ok();
    assert!(verify(&["--iss", "him"]).code(1).stdout.contains("iss: FAILED"));
    assert!(verify(&["--aud", "them"]).code(1).stdout.contains("aud: FAILED"));
    assert!(verify(&["--typ", "JWT"]).code(1).stdout.contains("typ: FAILED"));

    let expired = tokenctl(&["mint", "--secret", secret, "--claims", r#"{"iat":1000,"exp":2000}"#])
        .ok()
        .stdout;
    let run = tokenctl(&["verify", expired.trim(), "--secret", secret]).code(1);
    assert!(run.stdout.contains("exp: FAILED"), "{}", run.stdout);
    tokenctl(&["verify", expired.trim(), "--secret", secret, "--no-time-checks"]).ok();

    let soon = tokenctl(&["mint", "--secret", secret, "--ttl", "10s"]).ok().stdout;
    tokenctl(&["verify", soon.trim(), "--secret", secret, "--leeway", "0s"]).ok();
    let run = tokenctl(&["verify", soon.trim(), "--secret", secret, "--leeway", "a while"]);
    assert!(run.code(2).stderr.contains("--leeway"));
}

#[test]
fn verify_reports_a_malformed_token_as_a_failed_check_and_a_bad_key_file_as_input_error() {
    let run = tokenctl(&["verify", "garbage", "--secret", "my-secret-key"]).code(1);
    assert!(run.stdout.contains("format: FAILED"), "{}", run.stdout);

    let dir = tempfile::tempdir().unwrap();
    let run = tokenctl(&["verify", KNOWN_GOOD, "--jwks", path(&dir.path().join("none.json"))]);
    assert!(run.code(2).stderr.contains("--jwks"));
    let bad = write(dir.path(), "bad.json", "{\"keys\": []}");
    assert!(tokenctl(&["verify", KNOWN_GOOD, "--jwks", path(&bad)])
        .code(2)
        .stderr
        .contains("--jwks"));
    let run = tokenctl(&["verify", KNOWN_GOOD, "--jwk", path(&bad)]).code(2);
    assert!(run.stderr.contains("--jwks"), "{}", run.stderr);
}

// ---- app-token ----

#[test]
fn app_token_is_rs256_with_the_claims_and_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "RS256");
    let private = dir.path().join("private.pem");
    let token = tokenctl(&[
        "app-token",
        "--application-id",
        "app-42",
        "--private-key",
        path(&private),
        "--ttl",
        "10m",
        "--claims",
        r#"{"sub":"voice"}"#,
    ])
    .ok()
    .stdout;
    let token = token.trim();

    assert_eq!(header_of(token), json!({"alg": "RS256", "typ": "JWT"}));
    let claims = claims_of(token);
    assert_eq!(claims["application_id"], "app-42");
    assert_eq!(claims["sub"], "voice");
    assert!(claims["jti"].is_string());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 600);

    let public = dir.path().join("public.pem");
    tokenctl(&["verify", token, "--key", path(&public)]).ok();
    let default_ttl =
        tokenctl(&["app-token", "--application-id", "a", "--private-key", path(&private)])
            .ok()
            .stdout;
    let claims = claims_of(default_ttl.trim());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 900);
}

#[test]
fn app_token_needs_an_rsa_private_key() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "ES256");
    let args = |file: &str| {
        tokenctl(&[
            "app-token",
            "--application-id",
            "a",
            "--private-key",
            path(&dir.path().join(file)),
        ])
    };
    let stderr = args("private.pem").code(2).stderr;
    assert!(stderr.contains("--private-key: app-token signs RS256 and needs an RSA"), "{stderr}");
    assert!(!stderr.contains("--alg"), "app-token has no --alg: {stderr}");
    assert!(args("missing.pem").code(2).stderr.contains("--private-key"));
}

// ---- jwks ----

#[test]
fn jwks_lists_public_keys_with_thumbprint_or_given_kids() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    keygen(&a, "EdDSA");
    keygen(&b, "ES384");
    let pems = [path(&a.join("private.pem")).to_owned(), path(&b.join("public.pem")).to_owned()];

    let run = tokenctl(&["jwks", &pems[0], &pems[1]]).ok();
    let jwks: Value = serde_json::from_str(&run.stdout).unwrap();
    let generated: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("public.jwks.json")).unwrap())
            .unwrap();
    assert_eq!(jwks["keys"][0], generated["keys"][0], "kid is the same thumbprint");
    assert_eq!(jwks["keys"][1]["alg"], "ES384");
    assert!(!run.stdout.contains("\"d\""));

    let run = tokenctl(&["jwks", &pems[0], &pems[1], "--kid", "one", "--kid", "two"]).ok();
    let jwks: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((&jwks["keys"][0]["kid"], &jwks["keys"][1]["kid"]), (&json!("one"), &json!("two")));

    let run = tokenctl(&["jwks", &pems[0], &pems[1], "--kid", "one"]).code(2);
    assert!(run.stderr.contains("--kid"), "{}", run.stderr);
}

// ---- help ----

#[test]
fn help_explains_commands_key_sources_and_shell_history() {
    let run = tokenctl(&["--help"]).ok();
    for command in ["secret", "keygen", "mint", "decode", "verify", "app-token", "jwks"] {
        assert!(run.stdout.contains(command), "{command}: {}", run.stdout);
    }
    assert!(run.stdout.contains("shell"), "{}", run.stdout);
    assert!(run.stdout.contains("TOKENCTL_SECRET"), "{}", run.stdout);
    for command in ["secret", "keygen", "mint", "decode", "verify", "app-token", "jwks"] {
        tokenctl(&[command, "--help"]).ok();
    }
    let verify = tokenctl(&["verify", "--help"]).ok().stdout;
    assert!(verify.contains("shell history") && verify.contains("--no-time-checks"), "{verify}");
    let mint = tokenctl(&["mint", "--help"]).ok().stdout;
    assert!(mint.contains("--allow-weak-key") && mint.contains("shell history"), "{mint}");
}

#[test]
fn usage_errors_exit_with_code_2() {
    tokenctl(&[]).code(2);
    tokenctl(&["frobnicate"]).code(2);
    tokenctl(&["verify", KNOWN_GOOD, "--secret", "a", "--key", "b"]).code(2);
    for kid in ["", "line\nbreak", &"k".repeat(257)] {
        let run = tokenctl(&["keygen", "--alg", "EdDSA", "--kid", kid, "--out", "/nonexistent"]);
        assert!(run.code(2).stderr.contains("kid"), "{kid:?}");
    }
}

#[test]
fn an_endless_input_stops_at_16_mib_with_a_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(["decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..17 {
            if std::io::Write::write_all(&mut stdin, &chunk).is_err() {
                break;
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("more than 16 MiB"), "{stderr}");
}

#[test]
fn a_reader_that_goes_away_stops_it_quietly_not_with_a_panic() {
    let secret = "a-secret-of-well-over-thirty-two-bytes-0123456789";
    let token = tokenctl(&["mint", "--secret", secret, "--sub", "u1"]).ok().stdout;
    // A pipe whose reader is closed before the program writes, as after
    // `| head -1` has read its line.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(["decode", token.trim()])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
