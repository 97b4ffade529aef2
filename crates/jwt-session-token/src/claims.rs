use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::rules::{check_exp, check_not_before};
use crate::{TokenError, TokenSettings};

/// The verified claims of a token.
///
/// Times are whole seconds since the Unix epoch; they are written as JSON
/// integers, never fractions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issuer (`iss`).
    pub iss: String,
    /// Subject (`sub`): the user id.
    pub sub: String,
    /// Audience (`aud`), written as an array.
    pub aud: Vec<String>,
    /// Token id (`jti`): a fresh random UUID per token.
    pub jti: String,
    /// Session id (`sid`), shared by the access and refresh token of a pair
    /// and by every pair that refreshing produces.
    pub sid: String,
    /// Issued at (`iat`).
    pub iat: u64,
    /// Not before (`nbf`); this crate never writes it but checks it when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry (`exp`); required.
    pub exp: u64,
}

/// A verified token's registered claims and the caller's own claims `C`,
/// read from the same payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<C> {
    /// The registered claims, checked as for every token.
    pub claims: Claims,
    /// The caller's own claims, deserialized but not otherwise checked.
    pub custom: C,
}

/// Names of the claims this crate writes and checks; custom claims may not
/// use them.
pub(crate) const REGISTERED: [&str; 8] = ["iss", "sub", "aud", "jti", "sid", "iat", "nbf", "exp"];

/// The claims as read from an untrusted token: every claim optional, so that
/// an absent one gets its own error instead of a parse failure.
#[derive(Deserialize)]
pub(crate) struct UncheckedClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    jti: Option<String>,
    sid: Option<String>,
    iat: Option<u64>,
    nbf: Option<u64>,
    exp: Option<u64>,
}

/// `aud` may be one string or an array of strings (RFC 7519, section 4.1.3);
/// either way it is read into a list. (A hand-written visitor rather than an
/// untagged enum, which would first copy the value into a buffer.)
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrMany;

        impl<'de> Visitor<'de> for OneOrMany {
            type Value = Audience;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, one: &str) -> Result<Audience, E> {
                Ok(Audience(vec![one.to_owned()]))
            }

            fn visit_string<E: de::Error>(self, one: String) -> Result<Audience, E> {
                Ok(Audience(vec![one]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut many = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(8));
                while let Some(one) = seq.next_element::<String>()? {
                    many.push(one);
                }
                Ok(Audience(many))
            }
        }

        deserializer.deserialize_any(OneOrMany)
    }
}

impl UncheckedClaims {
    /// Applies the time, issuer and audience rules at `now` (seconds since
    /// the Unix epoch).
    pub(crate) fn validate(self, settings: &TokenSettings, now: u64) -> Result<Claims, TokenError> {
        let leeway = settings.leeway_secs;

        let exp = self.exp.ok_or(TokenError::MissingClaim("exp"))?;
        check_exp(exp, now, leeway)?;
        if let Some(nbf) = self.nbf {
            check_not_before(nbf, now, leeway)?;
        }
        let iat = self.iat.ok_or(TokenError::MissingClaim("iat"))?;
        check_not_before(iat, now, leeway)?;

        let iss = required(self.iss, "iss")?;
        if iss != settings.issuer {
            return Err(TokenError::WrongIssuer);
        }
        let Audience(aud) = self.aud.ok_or(TokenError::MissingClaim("aud"))?;
        if !aud.contains(&settings.audience) {
            return Err(TokenError::WrongAudience);
        }

        Ok(Claims {
            iss,
            sub: required(self.sub, "sub")?,
            aud,
            jti: required(self.jti, "jti")?,
            sid: required(self.sid, "sid")?,
            iat,
            nbf: self.nbf,
            exp,
        })
    }
}

fn required(value: Option<String>, name: &'static str) -> Result<String, TokenError> {
    value.filter(|v| !v.is_empty()).ok_or(TokenError::MissingClaim(name))
}
