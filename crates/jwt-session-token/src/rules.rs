//! Claim checks for any JWT, not only this crate's session tokens: the
//! options a general-purpose verifier (such as `tokenctl verify`) offers.

use serde_json::{Map, Value};

use crate::service::unix_now;
use crate::{unverified, KeySet, TokenError};

/// What to check in a JWT beyond its signature.
///
/// Unlike [`TokenService`](crate::TokenService), which requires the claims
/// of its own session tokens, these rules check only what they are asked
/// to, plus the time claims unless [`check_times`](Self::check_times) is
/// off: `exp` is then required, and `exp`, `nbf` and `iat` (when present)
/// are checked with the leeway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRules {
    /// The required `iss`; default `None`, not checked.
    pub issuer: Option<String>,
    /// An audience `aud` must name (as a string or in an array); default
    /// `None`, not checked.
    pub audience: Option<String>,
    /// The required header `typ`, compared as a media type (without regard
    /// to case, `application/` optional); default `None`, not checked.
    pub typ: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds; default 30.
    pub leeway_secs: u64,
    /// Whether `exp` (required), `nbf` and `iat` are checked; default true.
    pub check_times: bool,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self { issuer: None, audience: None, typ: None, leeway_secs: 30, check_times: true }
    }
}

/// The outcome of one check of [`ClaimRules::check`].
#[derive(Debug)]
pub struct ClaimCheck {
    /// What was checked: `typ`, `exp`, `nbf`, `iat`, `iss` or `aud`.
    pub name: &'static str,
    /// `Ok` when it passed, else why not.
    pub outcome: Result<(), TokenError>,
}

impl ClaimRules {
    /// Runs every check these rules ask for against a token's (verified)
    /// header and claims at `now` (seconds since the Unix epoch), and
    /// returns one outcome per check, in a fixed order: `typ`, `exp`, `nbf`,
    /// `iat`, `iss`, `aud`. `nbf` and `iat` appear only when present.
    pub fn check(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
        now: u64,
    ) -> Vec<ClaimCheck> {
        let mut checks = Vec::new();
        let mut push = |name, outcome| checks.push(ClaimCheck { name, outcome });

        if let Some(expected) = &self.typ {
            let found = header.get("typ").and_then(Value::as_str);
            let ok = found.is_some_and(|found| typ_matches(found, expected));
            push("typ", ok.then_some(()).ok_or(TokenError::UnexpectedTyp(expected.clone())));
        }
        if self.check_times {
            let leeway = self.leeway_secs;
            let exp = match claims.get("exp") {
                None => Err(TokenError::MissingClaim("exp")),
                Some(exp) => seconds(exp, "exp").and_then(|exp| check_exp(exp, now, leeway)),
            };
            push("exp", exp);
            for name in ["nbf", "iat"] {
                if let Some(value) = claims.get(name) {
                    let name = if name == "nbf" { "nbf" } else { "iat" };
                    push(name, seconds(value, name).and_then(|t| check_not_before(t, now, leeway)));
                }
            }
        }
        if let Some(issuer) = &self.issuer {
            let outcome = match claims.get("iss") {
                None => Err(TokenError::MissingClaim("iss")),
                Some(iss) if iss.as_str() == Some(issuer) => Ok(()),
                Some(_) => Err(TokenError::WrongIssuer),
            };
            push("iss", outcome);
        }
        if let Some(audience) = &self.audience {
            let names = |aud: &Value| aud.as_str() == Some(audience);
            let outcome = match claims.get("aud") {
                None => Err(TokenError::MissingClaim("aud")),
                Some(Value::Array(many)) if many.iter().any(names) => Ok(()),
                Some(one) if names(one) => Ok(()),
                Some(_) => Err(TokenError::WrongAudience),
            };
            push("aud", outcome);
        }
        checks
    }
}

impl KeySet {
    /// Verifies a JWT with this set and `rules` at the current time and
    /// returns its claims.
    ///
    /// # Errors
    ///
    /// As [`verify_with_rules_at`](Self::verify_with_rules_at).
    pub fn verify_with_rules(
        &self,
        token: &str,
        rules: &ClaimRules,
    ) -> Result<Map<String, Value>, TokenError> {
        self.verify_with_rules_at(token, rules, unix_now())
    }

    /// Verifies a JWT with this set at `now`: the header and signature as
    /// [`verify_compact`](Self::verify_compact) (the key's algorithm is
    /// pinned, `kid` selects the key), then the payload must be a JSON
    /// object and pass every check of `rules`.
    ///
    /// # Errors
    ///
    /// The first refusal: as [`verify_compact`](Self::verify_compact),
    /// [`TokenError::Malformed`] when the payload is not a claims set, then
    /// the first failed [`ClaimCheck`].
    pub fn verify_with_rules_at(
        &self,
        token: &str,
        rules: &ClaimRules,
        now: u64,
    ) -> Result<Map<String, Value>, TokenError> {
        self.verify_compact_at(token, now)?;
        let jws = unverified::decode(token)?;
        let claims =
            jws.claims().ok_or(TokenError::Malformed("payload is not a JSON claims set"))?;
        for check in rules.check(&jws.header, &claims, now) {
            check.outcome?;
        }
        Ok(claims)
    }
}

/// Whether a header's `typ` names the media type `expected`: without regard
/// to case, and the `application/` prefix may be left out (RFC 7515,
/// section 4.1.9).
pub(crate) fn typ_matches(found: &str, expected: &str) -> bool {
    fn short(typ: &str) -> &str {
        match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        }
    }
    short(found).eq_ignore_ascii_case(short(expected))
}

/// An `exp` at or before `now`, beyond the leeway, has expired.
pub(crate) fn check_exp(exp: u64, now: u64, leeway: u64) -> Result<(), TokenError> {
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// An `nbf` or `iat` after `now`, beyond the leeway, is not valid yet.
pub(crate) fn check_not_before(time: u64, now: u64, leeway: u64) -> Result<(), TokenError> {
    if time > now.saturating_add(leeway) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

fn seconds(value: &Value, name: &'static str) -> Result<u64, TokenError> {
    value.as_u64().ok_or(TokenError::InvalidTime(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, JwsKey};
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn failed(checks: &[ClaimCheck]) -> Vec<&'static str> {
        checks.iter().filter(|c| c.outcome.is_err()).map(|c| c.name).collect()
    }

    #[test]
    fn only_the_requested_checks_run_and_all_pass() {
        let rules = ClaimRules {
            issuer: Some("me".into()),
            audience: Some("you".into()),
            typ: Some("JWT".into()),
            ..ClaimRules::default()
        };
        let header = object(json!({"alg": "HS256", "typ": "application/jwt"}));
        let claims = object(json!({"iss": "me", "aud": ["x", "you"], "exp": NOW + 60, "iat": NOW}));
        let checks = rules.check(&header, &claims, NOW);
        let names: Vec<_> = checks.iter().map(|c| c.name).collect();
        assert_eq!(names, ["typ", "exp", "iat", "iss", "aud"]);
        assert!(failed(&checks).is_empty());
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let rules = ClaimRules {
            issuer: Some("me".into()),
            audience: Some("you".into()),
            typ: Some("at+jwt".into()),
            leeway_secs: 0,
            ..ClaimRules::default()
        };
        let header = object(json!({"alg": "HS256", "typ": "JWT"}));
        let claims = object(json!({"iss": "him", "aud": "them", "exp": NOW, "nbf": NOW + 1}));
        let checks = rules.check(&header, &claims, NOW);
        assert_eq!(failed(&checks), ["typ", "exp", "nbf", "iss", "aud"]);
        assert!(matches!(checks[1].outcome, Err(TokenError::Expired)));
        assert!(matches!(checks[2].outcome, Err(TokenError::NotYetValid)));
        assert!(matches!(checks[3].outcome, Err(TokenError::WrongIssuer)));
        assert!(matches!(checks[4].outcome, Err(TokenError::WrongAudience)));
    }

    #[test]
    fn exp_is_required_and_whole_unless_times_are_off() {
        let rules = ClaimRules::default();
        let header = Map::new();
        let checks = rules.check(&header, &Map::new(), NOW);
        assert!(matches!(checks[0].outcome, Err(TokenError::MissingClaim("exp"))));
        let checks = rules.check(&header, &object(json!({"exp": 1.5e9})), NOW);
        assert!(matches!(checks[0].outcome, Err(TokenError::InvalidTime("exp"))));

        let off = ClaimRules { check_times: false, ..ClaimRules::default() };
        assert!(off.check(&header, &object(json!({"exp": 1})), NOW).is_empty());
    }

    #[test]
    fn verify_with_rules_checks_the_signature_then_the_claims() {
        let key = JwsKey::generate(Algorithm::EdDsa).unwrap();
        let header = object(json!({"typ": "JWT"}));
        let claims = json!({"iss": "me", "exp": NOW + 60}).to_string();
        let token = key.sign_compact(&header, claims.as_bytes()).unwrap();
        let set = KeySet::new(key).unwrap();

        let rules = ClaimRules { issuer: Some("me".into()), ..ClaimRules::default() };
        assert_eq!(set.verify_with_rules_at(&token, &rules, NOW).unwrap()["iss"], "me");
        let late = set.verify_with_rules_at(&token, &rules, NOW + 3600);
        assert!(matches!(late, Err(TokenError::Expired)));

        let text = set.signing_key().unwrap().sign_compact(&Map::new(), b"plain").unwrap();
        let refused = set.verify_with_rules_at(&text, &rules, NOW);
        assert!(matches!(refused, Err(TokenError::Malformed(_))));
    }
}
