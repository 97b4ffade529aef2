//! Interoperability with PyJWT: it verifies our tokens with our published
//! JWKS, and we verify its tokens with its JWKS. Skipped (with a message)
//! only when `python3` is missing; fails when PyJWT is missing, since the
//! project's setup installs it (`pip install 'pyjwt[crypto]'`).

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use jwt_session_token::{
    unix_now, Algorithm, JwksVerifier, JwsKey, KeySet, TokenKeys, TokenKind, TokenService,
    TokenSettings,
};
use serde_json::{json, Value};

/// Reads `{alg, jwks, token, now}` on stdin; verifies `token` with the key
/// of its `kid`, then signs its own token with a fresh key and prints
/// `{sub, jwks, token}`. Errors name the step, never a token or key.
const SCRIPT: &str = r#"
import json, sys
try:
    import jwt
    from jwt import algorithms
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as e:
    sys.exit("PyJWT with crypto is missing (pip install 'pyjwt[crypto]'): %s" % e)

req = json.load(sys.stdin)
alg = req["alg"]
keys = jwt.PyJWKSet.from_dict(req["jwks"])
kid = jwt.get_unverified_header(req["token"])["kid"]
claims = jwt.decode(req["token"], key=keys[kid], algorithms=[alg],
                    audience="audience", issuer="issuer")

if alg.startswith(("RS", "PS")):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk_alg = algorithms.RSAAlgorithm
elif alg == "EdDSA":
    private = ed25519.Ed25519PrivateKey.generate()
    jwk_alg = algorithms.OKPAlgorithm
else:
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    private = ec.generate_private_key(curve)
    jwk_alg = algorithms.ECAlgorithm
public = jwk_alg.to_jwk(private.public_key(), as_dict=True)
public.update({"kid": "py-1", "alg": alg, "use": "sig"})
now = req["now"]
theirs = jwt.encode(
    {"iss": "issuer", "aud": ["audience"], "sub": "from-python", "jti": "j-py",
     "sid": "s-py", "iat": now, "exp": now + 300},
    private, algorithm=alg, headers={"kid": "py-1", "typ": "at+jwt"})
print(json.dumps({"sub": claims["sub"], "jwks": {"keys": [public]}, "token": theirs}))
"#;

fn python_available() -> bool {
    Command::new("python3").arg("--version").output().is_ok_and(|out| out.status.success())
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

#[test]
fn pyjwt_verifies_our_tokens_and_we_verify_its_tokens() {
    if !python_available() {
        eprintln!("SKIPPED pyjwt interop: python3 is not installed");
        return;
    }
    let settings = TokenSettings::new("issuer", "audience");

    for alg in
        [Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa]
    {
        let access = KeySet::new(JwsKey::generate(alg).unwrap()).unwrap();
        let refresh = KeySet::new(JwsKey::generate(Algorithm::Hs256).unwrap()).unwrap();
        let keys = TokenKeys::from_key_sets(access, refresh).unwrap();
        let tokens = TokenService::new(settings.clone(), keys).unwrap();
        let now = unix_now();
        let ours = tokens.issue_at(TokenKind::Access, "from-rust", "s", now).unwrap();
        let jwks: Value = serde_json::from_str(&tokens.jwks().to_json()).unwrap();

        let answer = run_python(&json!({
            "alg": alg.as_str(), "jwks": jwks, "token": ours.token, "now": now,
        }));

        assert_eq!(answer["sub"], "from-rust", "{alg}: PyJWT read our claims");
        let theirs =
            JwksVerifier::from_jwks(settings.clone(), &answer["jwks"].to_string()).unwrap();
        let claims = theirs.verify(answer["token"].as_str().unwrap(), TokenKind::Access);
        assert_eq!(claims.map(|c| c.sub).ok().as_deref(), Some("from-python"), "{alg}");
    }
}
