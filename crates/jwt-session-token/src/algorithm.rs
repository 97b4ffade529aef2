use std::fmt;
use std::str::FromStr;

use openssl::nid::Nid;

use crate::TokenError;

/// A JWS signature algorithm (RFC 7518 section 3, RFC 8037 for `EdDSA`).
///
/// A key is pinned to exactly one algorithm when it is loaded; a token's
/// `alg` header only has to agree with it and never chooses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on P-521 with SHA-512.
    Es512,
    /// EdDSA; only the Ed25519 curve is accepted.
    EdDsa,
}

/// The kind of key an algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac { min_bytes: usize },
    Rsa,
    Ec { curve: Nid, crv: &'static str, coordinate_bytes: usize },
    Ed25519,
}

impl Algorithm {
    /// Every algorithm, in the order of RFC 7518 and then `EdDSA`.
    pub const ALL: [Algorithm; 13] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::EdDsa,
    ];

    /// The `alg` name as written in a JOSE header or JWK.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this exact (case-sensitive) name, if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// Whether this is an HMAC algorithm, whose one secret both signs and
    /// verifies and so is never published.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }

    pub(crate) const fn family(self) -> Family {
        match self {
            Self::Hs256 => Family::Hmac { min_bytes: 32 },
            Self::Hs384 => Family::Hmac { min_bytes: 48 },
            Self::Hs512 => Family::Hmac { min_bytes: 64 },
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                Family::Rsa
            }
            Self::Es256 => {
                Family::Ec { curve: Nid::X9_62_PRIME256V1, crv: "P-256", coordinate_bytes: 32 }
            }
            Self::Es384 => Family::Ec { curve: Nid::SECP384R1, crv: "P-384", coordinate_bytes: 48 },
            Self::Es512 => Family::Ec { curve: Nid::SECP521R1, crv: "P-521", coordinate_bytes: 66 },
            Self::EdDsa => Family::Ed25519,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = TokenError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::from_name(name).ok_or(TokenError::UnsupportedAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::Algorithm;

    #[test]
    fn every_algorithm_round_trips_through_its_name() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        }
    }

    #[test]
    fn names_are_case_sensitive_and_none_is_unknown() {
        assert!(Algorithm::from_name("hs256").is_none());
        assert!(Algorithm::from_name("none").is_none());
        assert!(Algorithm::from_name("EDDSA").is_none());
        assert!("ES256K".parse::<Algorithm>().is_err());
    }

    #[test]
    fn only_hmac_algorithms_are_symmetric() {
        let symmetric: Vec<_> = Algorithm::ALL.into_iter().filter(|a| a.is_symmetric()).collect();
        assert_eq!(symmetric, [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512]);
    }
}
