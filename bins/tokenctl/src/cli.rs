//! The command-line interface (clap derive). Other tools and tests rely on
//! these names; change them only with care.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use jwt_session_token::Algorithm;

use crate::time::parse_duration;

const ABOUT: &str = "Secrets, key pairs and JWTs on the command line, built on jwt-session-token";

const LONG_ABOUT: &str = "\
Secrets, key pairs and JWTs on the command line, built on jwt-session-token:
make them, sign them, read them and check them locally instead of pasting a
private key into a web page.

Keys and secrets: --key, --jwk, --jwks, --private-key and --secret-file take a
file path, or - for stdin. An HMAC secret can also come from the environment
variable TOKENCTL_SECRET. --secret S works too, but S then lands in your shell
history and in the process list: prefer a file, stdin or the environment.
A secret is used as the exact bytes given (one trailing newline of a file is
dropped).

Exit codes: 0 success; 1 `verify` found a check that failed; 2 bad usage or
input (unreadable file, malformed token for `decode`, unusable key).";

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "tokenctl", version, about = ABOUT, long_about = LONG_ABOUT)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print a new random HMAC secret: N random bytes, base64, one line
    Secret(SecretArgs),
    /// Write a new key pair (RS*, PS*, ES*, EdDSA) as PEM, JWK and JWKS files
    Keygen(KeygenArgs),
    /// Print a new signed JWT
    Mint(MintArgs),
    /// Show a token's header and claims WITHOUT verifying anything
    Decode(DecodeArgs),
    /// Check a token's signature and claims; exit 0 only when every check passes
    Verify(VerifyArgs),
    /// Print an RS256 token with `application_id`, `iat`, `exp` and `jti` for a third-party API
    AppToken(AppTokenArgs),
    /// Print a JWKS with the public parts of PEM keys
    Jwks(JwksArgs),
}

/// `tokenctl secret`.
#[derive(Debug, Args)]
#[command(after_help = "The secret is printed to stdout; redirect it to a file you keep \
private, e.g. `tokenctl secret > access.secret && chmod 600 access.secret`. It is meant to be \
used as text, as is: `--secret-file access.secret`.")]
pub(crate) struct SecretArgs {
    /// How many random bytes (at least 32, at most 1024)
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub(crate) bytes: usize,
}

/// `tokenctl keygen`.
#[derive(Debug, Args)]
#[command(after_help = "Writes DIR/private.pem (PKCS#8), DIR/public.pem, DIR/private.jwk.json \
and DIR/public.jwks.json (one key with kid, alg and use). The two private files get mode 0600. \
DIR is created if missing. No file is overwritten unless --force is given. For an HMAC secret, \
use `tokenctl secret`.")]
pub(crate) struct KeygenArgs {
    /// Algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    pub(crate) alg: Algorithm,
    /// Key id written into the JWK files [default: the RFC 7638 thumbprint]
    #[arg(long, value_name = "KID", value_parser = parse_kid)]
    pub(crate) kid: Option<String>,
    /// Directory to write the four files into
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    pub(crate) force: bool,
}

/// Where the key comes from, for `mint` and `verify`.
#[derive(Debug, Args)]
pub(crate) struct KeySource {
    /// HMAC secret as text (lands in shell history: prefer --secret-file or TOKENCTL_SECRET)
    #[arg(long, value_name = "S")]
    pub(crate) secret: Option<String>,
    /// File holding the HMAC secret, or - for stdin
    #[arg(long, value_name = "F")]
    pub(crate) secret_file: Option<PathBuf>,
    /// PEM key file, or - for stdin
    #[arg(long, value_name = "PEM")]
    pub(crate) key: Option<PathBuf>,
    /// JWK file (oct, RSA, EC or OKP), or - for stdin
    #[arg(long, value_name = "F")]
    pub(crate) jwk: Option<PathBuf>,
}

/// `tokenctl mint`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("keys").args(["secret", "secret_file", "key", "jwk"]).multiple(false)),
    after_help = MINT_HELP
)]
pub(crate) struct MintArgs {
    /// Algorithm [default: HS256 for a secret, else from the key: ES*/EdDSA by curve, RS256 for RSA]
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    pub(crate) alg: Option<Algorithm>,
    #[command(flatten)]
    pub(crate) source: KeySource,
    /// Claims as a JSON object, or @FILE to read them from a file
    #[arg(long, value_name = "JSON")]
    pub(crate) claims: Option<String>,
    /// Subject (`sub`); wins over --claims
    #[arg(long, value_name = "S")]
    pub(crate) sub: Option<String>,
    /// Issuer (`iss`); wins over --claims
    #[arg(long, value_name = "I")]
    pub(crate) iss: Option<String>,
    /// Audience (`aud`); wins over --claims
    #[arg(long, value_name = "A")]
    pub(crate) aud: Option<String>,
    /// Lifetime: `exp` = `iat` + TTL (units s, m, h, d)
    #[arg(long, value_name = "TTL", default_value = "15m", value_parser = parse_duration)]
    pub(crate) ttl: u64,
    /// Header `kid` [default: the key's kid (JWK `kid` or thumbprint); none for a secret]
    #[arg(long, value_name = "K", value_parser = parse_kid)]
    pub(crate) kid: Option<String>,
    /// Header `typ`
    #[arg(long, value_name = "T", default_value = "JWT")]
    pub(crate) typ: String,
    /// Sign even with an HMAC secret shorter than the algorithm needs (insecure)
    #[arg(long)]
    pub(crate) allow_weak_key: bool,
}

const MINT_HELP: &str = "Keys (give one; a secret may instead come from TOKENCTL_SECRET):
  --secret S       HMAC secret as text; it lands in shell history, prefer the next two
  --secret-file F  HMAC secret from file F, or - for stdin
  --key PEM        path to a private PEM key, or - for stdin
  --jwk F          path to a JWK file with private members (or an oct key), or - for stdin

`iat` (now), `exp` (iat + TTL) and `jti` (a random UUID) are filled in unless --claims
gives them. HMAC secrets shorter than the hash (32 bytes for HS256, 48 for HS384, 64 for
HS512) are refused unless --allow-weak-key; make a good one with `tokenctl secret`.";

/// `tokenctl decode`.
#[derive(Debug, Args)]
#[command(after_help = "Nothing is verified: anyone can write any header and claims. \
Use `tokenctl verify` to check a token. Exit code 0 when the token is a well-formed compact \
JWS, 2 when not.")]
pub(crate) struct DecodeArgs {
    /// The token, or - to read it from stdin
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: String,
}

/// `tokenctl verify`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("keys").args(["secret", "secret_file", "key", "jwk", "jwks"]).multiple(false)),
    after_help = VERIFY_HELP
)]
pub(crate) struct VerifyArgs {
    /// The token, or - to read it from stdin
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: String,
    #[command(flatten)]
    pub(crate) source: KeySource,
    /// JWKS file (public keys; the token's `kid` picks one), or - for stdin
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
    /// Pin the algorithm; the token's header `alg` must agree [default: from the key]
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    pub(crate) alg: Option<Algorithm>,
    /// Required issuer (`iss`)
    #[arg(long, value_name = "I")]
    pub(crate) iss: Option<String>,
    /// Required audience (`aud`, a string or an array containing it)
    #[arg(long, value_name = "A")]
    pub(crate) aud: Option<String>,
    /// Required header `typ` (compared without regard to case)
    #[arg(long, value_name = "T")]
    pub(crate) typ: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (units s, m, h, d)
    #[arg(long, value_name = "LEEWAY", default_value = "30s", value_parser = parse_duration)]
    pub(crate) leeway: u64,
    /// Skip `exp`, `nbf` and `iat`, including the rule that `exp` must be present
    #[arg(long)]
    pub(crate) no_time_checks: bool,
}

const VERIFY_HELP: &str = "\
Keys (give one; a secret may instead come from TOKENCTL_SECRET):
  --secret S       HMAC secret as text; it lands in shell history, prefer the next two
  --secret-file F  HMAC secret from file F, or - for stdin
  --key PEM        path to a PEM key, public or private, or - for stdin
  --jwk F          path to a JWK file, or - for stdin
  --jwks FILE      path to a JWKS file, or - for stdin; the token's kid selects the key

The algorithm is pinned, never taken from the token: --alg, else the JWK's alg, else the
key's type (ES* and EdDSA by curve; RS256 for RSA, so PS* and RS384/512 need --alg;
HS256 for a secret or an oct JWK without alg). A token whose header alg differs fails.

One line per check is printed. Without --no-time-checks, exp must be present and in the
future, nbf and iat (when present) not in the future, each with the leeway. A JWS whose
payload is not a JSON object is checked by its signature alone.

An HMAC secret shorter than the hash still verifies, with a warning: it is too weak to sign
with. Exit codes: 0 every check passed; 1 a check failed (signature, alg, claims, or a
malformed token); 2 bad usage or input (unreadable file, unusable key).";

/// `tokenctl app-token`.
#[derive(Debug, Args)]
#[command(after_help = "The header is {\"alg\":\"RS256\",\"typ\":\"JWT\"}. `iat`, `exp` \
(iat + TTL) and `jti` are filled in unless --claims gives them; `application_id` always comes \
from --application-id. The private key is read from a file (or - for stdin), never from the \
command line.")]
pub(crate) struct AppTokenArgs {
    /// The application id (`application_id` claim)
    #[arg(long, value_name = "ID")]
    pub(crate) application_id: String,
    /// Path to the RSA private key PEM, or - for stdin
    #[arg(long, value_name = "PEM")]
    pub(crate) private_key: PathBuf,
    /// Lifetime: `exp` = `iat` + TTL (units s, m, h, d)
    #[arg(long, value_name = "TTL", default_value = "15m", value_parser = parse_duration)]
    pub(crate) ttl: u64,
    /// More claims as a JSON object, or @FILE to read them from a file
    #[arg(long, value_name = "JSON")]
    pub(crate) claims: Option<String>,
}

/// `tokenctl jwks`.
#[derive(Debug, Args)]
#[command(after_help = "Only public members are written, whether the PEM files hold private \
or public keys. Each key's `kid` is the matching --kid (give one per PEM, in order) or its \
RFC 7638 thumbprint; its `alg` is --alg, else ES* and EdDSA by curve and RS256 for RSA.")]
pub(crate) struct JwksArgs {
    /// PEM key files (private or public), - for stdin
    #[arg(value_name = "PEM", required = true)]
    pub(crate) pems: Vec<PathBuf>,
    /// Key id, once per PEM in the same order [default: the RFC 7638 thumbprint]
    #[arg(long, value_name = "KID", value_parser = parse_kid)]
    pub(crate) kid: Vec<String>,
    /// Algorithm for every key [default: from the key's type; RS256 for RSA]
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    pub(crate) alg: Option<Algorithm>,
}

/// An algorithm name, exactly as JOSE writes it.
/// A key id: 1 to 256 characters, none of them a control character (it is
/// printed, and written into headers and files).
fn parse_kid(kid: &str) -> Result<String, String> {
    if kid.is_empty() {
        return Err("a kid cannot be empty; leave --kid out for the default".into());
    }
    if kid.chars().count() > 256 {
        return Err("a kid is at most 256 characters".into());
    }
    if kid.chars().any(char::is_control) {
        return Err("a kid cannot hold control characters (a line break, a tab)".into());
    }
    Ok(kid.to_owned())
}

fn parse_alg(name: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(name).ok_or_else(|| {
        let known: Vec<_> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
        format!("unknown algorithm `{name}`; use one of {}", known.join(", "))
    })
}
