//! Interoperability with PyJWT: a token PyJWT signs with a `tokenctl keygen`
//! key verifies with `tokenctl verify --jwks public.jwks.json`, and PyJWT
//! verifies what `tokenctl mint` signs with the same JWKS. Skipped (with a
//! message) only when `python3` is missing; fails when PyJWT is missing,
//! since `./scripts/test` installs it (`pip install 'pyjwt[crypto]'`).

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Reads `{alg, pem, jwks, token}` on stdin; verifies `token` with the
/// JWKS, then signs its own token with the PEM under the JWKS's `kid` and
/// prints `{sub, token}`.
const SCRIPT: &str = r#"
import json, sys, time
try:
    import jwt
except ImportError as e:
    sys.exit("PyJWT with crypto is missing (pip install 'pyjwt[crypto]'): %s" % e)

req = json.load(sys.stdin)
alg = req["alg"]
keys = jwt.PyJWKSet.from_dict(req["jwks"])
kid = req["jwks"]["keys"][0]["kid"]
claims = jwt.decode(req["token"], key=keys[kid], algorithms=[alg], audience="you", issuer="me")
now = int(time.time())
theirs = jwt.encode({"sub": "from-python", "iss": "me", "aud": "you", "iat": now, "exp": now + 300},
                    req["pem"], algorithm=alg, headers={"kid": kid})
print(json.dumps({"sub": claims["sub"], "token": theirs}))
"#;

fn python_available() -> bool {
    Command::new("python3").arg("--version").output().is_ok_and(|out| out.status.success())
}

fn tokenctl(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenctl"))
        .args(args)
        .env_remove("TOKENCTL_SECRET")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.code().is_some(), "{stderr}");
    (output.status.code().unwrap(), format!("{stdout}{stderr}"))
}

fn run_python(request: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3 failed for {}: {}",
        request["alg"],
        String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn pyjwt_tokens_verify_with_the_keygen_jwks_and_the_reverse() {
    if !python_available() {
        eprintln!("SKIPPED pyjwt interop: python3 is not installed");
        return;
    }
    for alg in ["RS256", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"] {
        let dir = tempfile::tempdir().unwrap();
        let (code, out) = tokenctl(&["keygen", "--alg", alg, "--out", path(dir.path())]);
        assert_eq!(code, 0, "{out}");
        let private = dir.path().join("private.pem");
        let jwks_file = dir.path().join("public.jwks.json");
        let jwks: Value =
            serde_json::from_str(&std::fs::read_to_string(&jwks_file).unwrap()).unwrap();

        let (code, ours) = tokenctl(&[
            "mint",
            "--key",
            path(&private),
            "--alg",
            alg,
            "--iss",
            "me",
            "--aud",
            "you",
            "--sub",
            "from-rust",
        ]);
        assert_eq!(code, 0, "{ours}");
        let answer = run_python(&json!({
            "alg": alg,
            "pem": std::fs::read_to_string(&private).unwrap(),
            "jwks": jwks,
            "token": ours.trim(),
        }));
        assert_eq!(answer["sub"], "from-rust", "{alg}: PyJWT read our claims");

        let theirs = answer["token"].as_str().unwrap();
        let (code, out) = tokenctl(&[
            "verify",
            theirs,
            "--jwks",
            path(&jwks_file),
            "--iss",
            "me",
            "--aud",
            "you",
        ]);
        assert_eq!(code, 0, "{alg}: {out}");
        assert!(out.contains("result: valid"), "{alg}: {out}");
    }
}
