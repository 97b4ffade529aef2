use std::fmt;

use josekit::jwk::Jwk;
use josekit::jws::{
    EdDSA, JwsSigner, JwsVerifier, ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512,
};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::Rsa;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::Family;
use crate::jwk::{member, thumbprint_of};
use crate::{compact, Algorithm, HmacKey, TokenError};

/// The shortest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// One key pinned to one algorithm, with an optional key id (`kid`).
///
/// An HMAC key signs and verifies. An asymmetric key loaded from a private
/// key (PEM, DER or a JWK with private members) signs and verifies; one
/// loaded from a public key only verifies. Everything is checked once, at
/// load time: RSA keys under 2048 bits, HMAC secrets shorter than their hash
/// and keys whose type or curve does not fit the algorithm are refused.
///
/// Asymmetric keys get their RFC 7638 thumbprint as `kid` unless
/// [`with_kid`](Self::with_kid) names another; HMAC keys get none by default,
/// since a thumbprint of a secret would be a hash of it.
///
/// `Debug` shows the algorithm and kid, never key material.
pub struct JwsKey {
    alg: Algorithm,
    kid: Option<String>,
    material: Material,
}

enum Material {
    /// `signs` is false for a key built by [`JwsKey::hmac_verify_only`].
    Hmac { key: HmacKey, signs: bool },
    Asymmetric {
        signer: Option<Box<dyn JwsSigner>>,
        verifier: Box<dyn JwsVerifier>,
        /// The public members only (`kty`, `n`, `e`, `crv`, `x`, `y`).
        public_jwk: Map<String, Value>,
        /// The public key as a DER SubjectPublicKeyInfo.
        spki_der: Vec<u8>,
        /// The private key as PKCS#8 DER, kept for export when the key was
        /// loaded from PEM or DER or generated; zeroed on drop.
        pkcs8: Option<Zeroizing<Vec<u8>>>,
    },
}

impl JwsKey {
    /// An HMAC key for `alg` (HS256, HS384 or HS512) from raw secret bytes.
    ///
    /// # Errors
    ///
    /// As [`HmacKey::new`].
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, TokenError> {
        HmacKey::new(alg, secret).map(Self::from)
    }

    /// An HMAC key that only verifies, from a secret of any non-empty
    /// length, even one shorter than [`hmac`](Self::hmac) allows.
    ///
    /// This is for checking tokens that someone else already made with a
    /// weak secret (a debugging tool reading a legacy token). The key cannot
    /// sign ([`can_sign`](Self::can_sign) is false, [`sign`](Self::sign)
    /// fails), so it can never become a [`KeySet`](crate::KeySet)'s signing
    /// key and no new token is ever made with the weak secret through it.
    ///
    /// # Errors
    ///
    /// [`TokenError::KeyMismatch`] when `alg` is not HMAC or the secret is a
    /// PEM block; [`TokenError::WeakKey`] when it is empty.
    pub fn hmac_verify_only(alg: Algorithm, secret: &[u8]) -> Result<Self, TokenError> {
        let key = HmacKey::without_minimum_length(alg, secret)?;
        Ok(Self { alg, kid: None, material: Material::Hmac { key, signs: false } })
    }

    /// An HMAC key that signs and verifies with a secret of any non-empty
    /// length: **insecure** below the length [`hmac`](Self::hmac) requires,
    /// since a short secret can be guessed offline from any one token.
    ///
    /// Only for tools and tests that must reproduce tokens of a legacy
    /// system (`tokenctl mint --allow-weak-key`); a service signs with keys
    /// from [`hmac`](Self::hmac) or [`generate`](Self::generate).
    ///
    /// # Errors
    ///
    /// As [`hmac_verify_only`](Self::hmac_verify_only).
    pub fn insecure_weak_hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, TokenError> {
        HmacKey::without_minimum_length(alg, secret).map(Self::from)
    }

    /// An asymmetric key from PEM text: a private key (`PRIVATE KEY`,
    /// `RSA PRIVATE KEY`, `EC PRIVATE KEY`) signs and verifies, a public key
    /// (`PUBLIC KEY`, `RSA PUBLIC KEY`) only verifies.
    ///
    /// # Errors
    ///
    /// [`TokenError::KeyMismatch`] when the key does not fit `alg` (any PEM
    /// for an HMAC algorithm, an EC key for `RS256`, a P-384 key for `ES256`,
    /// an Ed448 key for `EdDSA`); [`TokenError::WeakRsaKey`] for RSA under
    /// 2048 bits; [`TokenError::KeyParse`] or [`TokenError::InvalidKey`] when
    /// the PEM cannot be read.
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, TokenError> {
        refuse_hmac(alg, "pem-encoded")?;
        let text =
            std::str::from_utf8(pem).map_err(|_| TokenError::InvalidKey("pem is not text"))?;

        if text.contains("PRIVATE KEY-----") {
            let private = PKey::private_key_from_pem(pem).map_err(TokenError::KeyParse)?;
            Self::from_private(alg, &private)
        } else if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            let rsa = Rsa::public_key_from_pem_pkcs1(pem).map_err(TokenError::KeyParse)?;
            Self::from_public(alg, PKey::from_rsa(rsa).map_err(TokenError::KeyParse)?)
        } else if text.contains("-----BEGIN PUBLIC KEY-----") {
            Self::from_public(alg, PKey::public_key_from_pem(pem).map_err(TokenError::KeyParse)?)
        } else {
            Err(TokenError::InvalidKey("pem holds no public or private key"))
        }
    }

    /// An asymmetric key from DER: a private key (PKCS#8, or PKCS#1 / SEC 1)
    /// signs and verifies, a SubjectPublicKeyInfo only verifies.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self, TokenError> {
        refuse_hmac(alg, "der-encoded")?;
        match PKey::private_key_from_der(der) {
            Ok(private) => Self::from_private(alg, &private),
            Err(_) => Self::from_public(
                alg,
                PKey::public_key_from_der(der).map_err(TokenError::KeyParse)?,
            ),
        }
    }

    /// A key from a JWK (RFC 7517): `oct`, `RSA`, `EC` (P-256, P-384, P-521)
    /// or `OKP` (Ed25519). With private members it signs; without, it only
    /// verifies.
    ///
    /// The algorithm is `alg` if given, else the JWK's `alg` member, else
    /// inferred from an `EC` or `OKP` curve; when both are given they must
    /// agree. A `use` other than `sig` is refused. The JWK's `kid` is kept.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidKey`] for a malformed JWK, an `alg` that
    /// disagrees, a `use` other than `sig`, or private members that do not
    /// match the public ones; [`TokenError::UnsupportedAlgorithm`] for an
    /// unknown `alg`; otherwise as [`from_pem`](Self::from_pem) and
    /// [`hmac`](Self::hmac).
    pub fn from_jwk(jwk: &Value, alg: Option<Algorithm>) -> Result<Self, TokenError> {
        let map = jwk.as_object().ok_or(TokenError::InvalidKey("jwk is not a json object"))?;
        let kty = member(map, "kty")?;
        let alg = resolve_algorithm(map, kty, alg)?;
        match map.get("use") {
            None => {}
            Some(Value::String(use_)) if use_ == "sig" => {}
            Some(_) => return Err(TokenError::InvalidKey("jwk `use` is not `sig`")),
        }
        let kid = match map.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(TokenError::InvalidKey("jwk `kid` is not a string")),
        };

        let mut key = if kty == "oct" {
            let mut secret = compact::decode(member(map, "k")?, "jwk member is not base64url")?;
            let key = Self::hmac(alg, &secret);
            secret.zeroize();
            key?
        } else {
            refuse_hmac(alg, kty_name(kty))?;
            let mut key = Self::from_public(alg, public_key_from_jwk(alg, map)?)?;
            if map.contains_key("d") {
                let jwk = Jwk::from_map(map.clone()).map_err(TokenError::KeyRefused)?;
                key.attach_signer(signer_from_jwk(alg, &jwk)?)?;
            }
            key
        };
        if kid.is_some() {
            key.kid = kid;
        }
        Ok(key)
    }

    /// A new random key for `alg`: a secret as long as the hash for HMAC,
    /// RSA 2048 bits, or a key on the algorithm's curve.
    ///
    /// # Errors
    ///
    /// [`TokenError::KeyParse`] if OpenSSL fails to generate the key.
    pub fn generate(alg: Algorithm) -> Result<Self, TokenError> {
        let private = match alg.family() {
            Family::Hmac { min_bytes } => {
                let mut secret = vec![0u8; min_bytes];
                openssl::rand::rand_bytes(&mut secret).map_err(TokenError::KeyParse)?;
                let key = Self::hmac(alg, &secret);
                secret.zeroize();
                return key;
            }
            Family::Rsa => Rsa::generate(MIN_RSA_BITS).and_then(PKey::from_rsa),
            Family::Ec { curve, .. } => EcGroup::from_curve_name(curve)
                .and_then(|group| EcKey::generate(&group))
                .and_then(PKey::from_ec_key),
            Family::Ed25519 => PKey::generate_ed25519(),
        };
        let private = private.map_err(TokenError::KeyParse)?;
        Self::from_private(alg, &private)
    }

    /// The same key under another `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key can sign (an HMAC key, or a private key).
    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac { signs, .. } => *signs,
            Material::Asymmetric { signer, .. } => signer.is_some(),
        }
    }

    /// The public key as a JWK with `kid`, `alg` and `use` (`sig`); `None`
    /// for HMAC keys, which are never published. Only public members are
    /// ever written.
    pub fn public_jwk(&self) -> Option<Map<String, Value>> {
        let Material::Asymmetric { public_jwk, .. } = &self.material else {
            return None;
        };
        let mut jwk = public_jwk.clone();
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), kid.as_str().into());
        }
        jwk.insert("alg".into(), self.alg.as_str().into());
        jwk.insert("use".into(), "sig".into());
        Some(jwk)
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key; `None` for HMAC.
    pub fn thumbprint(&self) -> Option<String> {
        match &self.material {
            Material::Hmac { .. } => None,
            Material::Asymmetric { public_jwk, .. } => thumbprint_of(public_jwk).ok(),
        }
    }

    /// The public key as a DER SubjectPublicKeyInfo; `None` for HMAC.
    pub fn public_key_der(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Hmac { .. } => None,
            Material::Asymmetric { spki_der, .. } => Some(spki_der),
        }
    }

    /// The public key as PEM (`PUBLIC KEY`); `None` for HMAC.
    pub fn public_key_pem(&self) -> Option<String> {
        let der = self.public_key_der()?;
        let pem = PKey::public_key_from_der(der).and_then(|key| key.public_key_to_pem()).ok()?;
        String::from_utf8(pem).ok()
    }

    /// Signs a JWS signing input (`base64url(header).base64url(payload)`)
    /// and returns the raw signature.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] for a public key;
    /// [`TokenError::Signing`] if the backend fails.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.material {
            Material::Hmac { key, signs: true } => key.sign(signing_input),
            Material::Hmac { signs: false, .. } => Err(TokenError::NoSigningKey),
            Material::Asymmetric { signer: Some(signer), .. } => {
                signer.sign(signing_input).map_err(TokenError::Signing)
            }
            Material::Asymmetric { signer: None, .. } => Err(TokenError::NoSigningKey),
        }
    }

    /// Checks a raw signature over a JWS signing input; HMAC in constant
    /// time.
    ///
    /// # Errors
    ///
    /// [`TokenError::BadSignature`] when it does not match.
    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        match &self.material {
            Material::Hmac { key, .. } => key.verify(signing_input, signature),
            Material::Asymmetric { verifier, .. } => {
                verifier.verify(signing_input, signature).map_err(|_| TokenError::BadSignature)
            }
        }
    }

    /// Signs `payload` as a compact JWS whose protected header is `header`
    /// with `alg` set to this key's algorithm, and returns the token.
    ///
    /// `header` may omit `alg`; if it names one, it must be this key's.
    /// Other members (`typ`, `kid`, ...) are written as given.
    ///
    /// # Errors
    ///
    /// [`TokenError::WrongAlgorithm`] when `header` names another `alg`;
    /// otherwise as [`sign`](Self::sign).
    pub fn sign_compact(
        &self,
        header: &Map<String, Value>,
        payload: &[u8],
    ) -> Result<String, TokenError> {
        if header.get("alg").is_some_and(|alg| alg.as_str() != Some(self.alg.as_str())) {
            return Err(TokenError::WrongAlgorithm);
        }
        let mut full = Map::new();
        full.insert("alg".into(), self.alg.as_str().into());
        full.extend(
            header.iter().filter(|(name, _)| *name != "alg").map(|(n, v)| (n.clone(), v.clone())),
        );
        let encoded = compact::encode(Value::Object(full).to_string().as_bytes());
        compact::sign(self, &encoded, payload)
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`), for writing it to a
    /// file the owner keeps. The text is zeroed when dropped.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] for HMAC keys, public keys and private
    /// keys loaded from a JWK (only keys generated or read from PEM or DER
    /// keep their private key in exportable form);
    /// [`TokenError::KeyParse`] if OpenSSL fails.
    pub fn private_key_pem(&self) -> Result<Zeroizing<String>, TokenError> {
        let private = self.exportable_private()?;
        let pem = Zeroizing::new(private.private_key_to_pem_pkcs8().map_err(TokenError::KeyParse)?);
        String::from_utf8(pem.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| TokenError::InvalidKey("pem is not text"))
    }

    /// The key pair as a JWK (RFC 7517, RFC 7518 section 6, RFC 8037) with
    /// the private members, `kid`, `alg` and `use`, as JSON text that is
    /// zeroed when dropped. [`from_jwk`](Self::from_jwk) reads it back.
    ///
    /// # Errors
    ///
    /// As [`private_key_pem`](Self::private_key_pem).
    pub fn private_jwk(&self) -> Result<Zeroizing<String>, TokenError> {
        let private = self.exportable_private()?;
        let mut jwk = self.public_jwk().ok_or(TokenError::NoSigningKey)?;
        let b64 = |bytes: Zeroizing<Vec<u8>>| Value::from(compact::encode(&bytes));
        let bytes = |n: &openssl::bn::BigNumRef| Zeroizing::new(n.to_vec());
        match self.alg.family() {
            Family::Rsa => {
                let rsa = private.rsa().map_err(TokenError::KeyParse)?;
                jwk.insert("d".into(), b64(bytes(rsa.d())));
                let crt = [("p", rsa.p()), ("q", rsa.q()), ("dp", rsa.dmp1()), ("dq", rsa.dmq1())];
                for (name, value) in crt.into_iter().chain([("qi", rsa.iqmp())]) {
                    if let Some(value) = value {
                        jwk.insert(name.into(), b64(bytes(value)));
                    }
                }
            }
            Family::Ec { coordinate_bytes, .. } => {
                let ec = private.ec_key().map_err(TokenError::KeyParse)?;
                let size = i32::try_from(coordinate_bytes)
                    .map_err(|_| TokenError::InvalidKey("curve size"))?;
                let d = ec.private_key().to_vec_padded(size).map_err(TokenError::KeyParse)?;
                jwk.insert("d".into(), b64(Zeroizing::new(d)));
            }
            Family::Ed25519 => {
                let d = private.raw_private_key().map_err(TokenError::KeyParse)?;
                jwk.insert("d".into(), b64(Zeroizing::new(d)));
            }
            Family::Hmac { .. } => return Err(TokenError::NoSigningKey),
        }
        let text = serde_json::to_string(&jwk).map(Zeroizing::new);
        for value in jwk.values_mut() {
            if let Value::String(member) = value {
                member.zeroize();
            }
        }
        text.map_err(|_| TokenError::InvalidKey("jwk could not be written"))
    }

    fn exportable_private(&self) -> Result<PKey<Private>, TokenError> {
        match &self.material {
            Material::Asymmetric { pkcs8: Some(pkcs8), .. } => {
                PKey::private_key_from_der(pkcs8).map_err(TokenError::KeyParse)
            }
            _ => Err(TokenError::NoSigningKey),
        }
    }

    fn from_private(alg: Algorithm, private: &PKeyRef<Private>) -> Result<Self, TokenError> {
        check_fits(alg, private)?;
        let spki = private.public_key_to_der().map_err(TokenError::KeyParse)?;
        let mut key = Self::from_public(
            alg,
            PKey::public_key_from_der(&spki).map_err(TokenError::KeyParse)?,
        )?;

        let pkcs8 = Zeroizing::new(private.private_key_to_pkcs8().map_err(TokenError::KeyParse)?);
        key.attach_signer(signer_from_pkcs8(alg, &pkcs8)?)?;
        if let Material::Asymmetric { pkcs8: kept, .. } = &mut key.material {
            *kept = Some(pkcs8);
        }
        Ok(key)
    }

    fn from_public(alg: Algorithm, public: PKey<Public>) -> Result<Self, TokenError> {
        check_fits(alg, &public)?;
        let spki_der = public.public_key_to_der().map_err(TokenError::KeyParse)?;
        let verifier = verifier_from_spki(alg, &spki_der)?;
        let public_jwk = public_members(alg, &public)?;
        let kid = thumbprint_of(&public_jwk)?;
        Ok(Self {
            alg,
            kid: Some(kid),
            material: Material::Asymmetric {
                signer: None,
                verifier,
                public_jwk,
                spki_der,
                pkcs8: None,
            },
        })
    }

    /// Adds the private half, after checking with a probe signature that it
    /// belongs to the public half already loaded.
    fn attach_signer(&mut self, new_signer: Box<dyn JwsSigner>) -> Result<(), TokenError> {
        let Material::Asymmetric { signer, verifier, .. } = &mut self.material else {
            return Err(TokenError::InvalidKey("hmac keys have no separate signer"));
        };
        let probe = b"jwt-session-token key probe";
        let signature = new_signer.sign(probe).map_err(TokenError::Signing)?;
        verifier
            .verify(probe, &signature)
            .map_err(|_| TokenError::InvalidKey("private and public parts do not match"))?;
        *signer = Some(new_signer);
        Ok(())
    }
}

impl From<HmacKey> for JwsKey {
    fn from(key: HmacKey) -> Self {
        Self { alg: key.alg(), kid: None, material: Material::Hmac { key, signs: true } }
    }
}

impl fmt::Debug for JwsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwsKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("can_sign", &self.can_sign())
            .field("material", &"<redacted>")
            .finish()
    }
}

fn refuse_hmac(alg: Algorithm, key: &'static str) -> Result<(), TokenError> {
    match alg.family() {
        Family::Hmac { .. } => Err(TokenError::KeyMismatch { alg: alg.as_str(), key }),
        _ => Ok(()),
    }
}

fn kty_name(kty: &str) -> &'static str {
    match kty {
        "RSA" => "rsa",
        "EC" => "ec",
        "OKP" => "okp",
        _ => "unsupported",
    }
}

/// The algorithm given, the JWK's `alg`, or one inferred from its curve.
fn resolve_algorithm(
    map: &Map<String, Value>,
    kty: &str,
    given: Option<Algorithm>,
) -> Result<Algorithm, TokenError> {
    let declared = match map.get("alg") {
        None => None,
        Some(Value::String(name)) => Some(name.parse::<Algorithm>()?),
        Some(_) => return Err(TokenError::InvalidKey("jwk `alg` is not a string")),
    };
    let inferred = || match (kty, map.get("crv").and_then(Value::as_str)) {
        ("EC", Some("P-256")) => Some(Algorithm::Es256),
        ("EC", Some("P-384")) => Some(Algorithm::Es384),
        ("EC", Some("P-521")) => Some(Algorithm::Es512),
        ("OKP", Some("Ed25519")) => Some(Algorithm::EdDsa),
        _ => None,
    };
    match (given, declared) {
        (Some(given), Some(declared)) if given != declared => {
            Err(TokenError::InvalidKey("jwk `alg` differs from the declared algorithm"))
        }
        (Some(alg), _) | (None, Some(alg)) => Ok(alg),
        (None, None) => {
            inferred().ok_or(TokenError::InvalidKey("jwk has no `alg` and none can be inferred"))
        }
    }
}

/// What a key is, for error messages.
fn describe<T: HasPublic>(key: &PKeyRef<T>) -> &'static str {
    match key.id() {
        Id::RSA => "rsa",
        Id::RSA_PSS => "rsa-pss",
        Id::ED25519 => "ed25519",
        Id::ED448 => "ed448",
        Id::X25519 => "x25519",
        Id::X448 => "x448",
        Id::DSA => "dsa",
        Id::EC => match key.ec_key().ok().and_then(|ec| ec.group().curve_name()) {
            Some(Nid::X9_62_PRIME256V1) => "ec p-256",
            Some(Nid::SECP384R1) => "ec p-384",
            Some(Nid::SECP521R1) => "ec p-521",
            Some(Nid::SECP256K1) => "ec secp256k1",
            _ => "ec",
        },
        _ => "unsupported",
    }
}

/// Refuses a key whose type, curve or size does not fit `alg`.
fn check_fits<T: HasPublic>(alg: Algorithm, key: &PKeyRef<T>) -> Result<(), TokenError> {
    let fits = match alg.family() {
        Family::Hmac { .. } => false,
        Family::Rsa => key.id() == Id::RSA,
        Family::Ec { curve, .. } => {
            key.id() == Id::EC
                && key.ec_key().ok().and_then(|ec| ec.group().curve_name()) == Some(curve)
        }
        Family::Ed25519 => key.id() == Id::ED25519,
    };
    if !fits {
        return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: describe(key) });
    }
    if alg.family() == Family::Rsa && key.bits() < MIN_RSA_BITS {
        return Err(TokenError::WeakRsaKey { bits: key.bits(), min: MIN_RSA_BITS });
    }
    Ok(())
}

/// The public JWK members of a key that already passed [`check_fits`].
fn public_members(alg: Algorithm, key: &PKeyRef<Public>) -> Result<Map<String, Value>, TokenError> {
    let b64 = |bytes: Vec<u8>| Value::from(compact::encode(&bytes));
    let mut jwk = Map::new();
    match alg.family() {
        Family::Rsa => {
            let rsa = key.rsa().map_err(TokenError::KeyParse)?;
            jwk.insert("kty".into(), "RSA".into());
            jwk.insert("n".into(), b64(rsa.n().to_vec()));
            jwk.insert("e".into(), b64(rsa.e().to_vec()));
        }
        Family::Ec { crv, coordinate_bytes, .. } => {
            let ec = key.ec_key().map_err(TokenError::KeyParse)?;
            let (x, y) = affine_coordinates(&ec, coordinate_bytes)?;
            jwk.insert("kty".into(), "EC".into());
            jwk.insert("crv".into(), crv.into());
            jwk.insert("x".into(), b64(x));
            jwk.insert("y".into(), b64(y));
        }
        Family::Ed25519 => {
            jwk.insert("kty".into(), "OKP".into());
            jwk.insert("crv".into(), "Ed25519".into());
            jwk.insert("x".into(), b64(key.raw_public_key().map_err(TokenError::KeyParse)?));
        }
        Family::Hmac { .. } => return Err(TokenError::InvalidKey("hmac keys have no public part")),
    }
    Ok(jwk)
}

fn affine_coordinates(
    ec: &EcKey<Public>,
    coordinate_bytes: usize,
) -> Result<(Vec<u8>, Vec<u8>), TokenError> {
    let size = i32::try_from(coordinate_bytes).map_err(|_| TokenError::InvalidKey("curve size"))?;
    let coordinates = || -> Result<_, openssl::error::ErrorStack> {
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        ec.public_key().affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
        Ok((x.to_vec_padded(size)?, y.to_vec_padded(size)?))
    };
    coordinates().map_err(TokenError::KeyParse)
}

/// Builds the public key of an `RSA`, `EC` or `OKP` JWK from its public
/// members only; private members are never read here.
fn public_key_from_jwk(
    alg: Algorithm,
    map: &Map<String, Value>,
) -> Result<PKey<Public>, TokenError> {
    let bytes = |name| compact::decode(member(map, name)?, "jwk member is not base64url");
    let bignum =
        |name| bytes(name).and_then(|b| BigNum::from_slice(&b).map_err(TokenError::KeyParse));
    let mismatch = |key| TokenError::KeyMismatch { alg: alg.as_str(), key };

    let key = match member(map, "kty")? {
        "RSA" => Rsa::from_public_components(bignum("n")?, bignum("e")?).and_then(PKey::from_rsa),
        "EC" => {
            let (curve, size, key) = match member(map, "crv")? {
                "P-256" => (Nid::X9_62_PRIME256V1, 32, "ec p-256"),
                "P-384" => (Nid::SECP384R1, 48, "ec p-384"),
                "P-521" => (Nid::SECP521R1, 66, "ec p-521"),
                _ => return Err(mismatch("ec")),
            };
            if !matches!(alg.family(), Family::Ec { curve: wanted, .. } if wanted == curve) {
                return Err(mismatch(key));
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != size || y.len() != size {
                return Err(TokenError::InvalidKey("ec coordinates have the wrong length"));
            }
            let x = BigNum::from_slice(&x).map_err(TokenError::KeyParse)?;
            let y = BigNum::from_slice(&y).map_err(TokenError::KeyParse)?;
            EcGroup::from_curve_name(curve)
                .and_then(|group| EcKey::from_public_key_affine_coordinates(&group, &x, &y))
                .and_then(PKey::from_ec_key)
        }
        "OKP" => match member(map, "crv")? {
            "Ed25519" => PKey::public_key_from_raw_bytes(&bytes("x")?, Id::ED25519),
            "Ed448" => return Err(mismatch("ed448")),
            "X25519" => return Err(mismatch("x25519")),
            "X448" => return Err(mismatch("x448")),
            _ => return Err(mismatch("okp")),
        },
        _ => return Err(TokenError::InvalidKey("unsupported jwk `kty`")),
    };
    key.map_err(TokenError::KeyParse)
}

fn verifier_from_spki(alg: Algorithm, der: &[u8]) -> Result<Box<dyn JwsVerifier>, TokenError> {
    fn boxed<V: JwsVerifier + 'static>(verifier: V) -> Box<dyn JwsVerifier> {
        Box::new(verifier)
    }
    let verifier = match alg {
        Algorithm::Rs256 => RS256.verifier_from_der(der).map(boxed),
        Algorithm::Rs384 => RS384.verifier_from_der(der).map(boxed),
        Algorithm::Rs512 => RS512.verifier_from_der(der).map(boxed),
        Algorithm::Ps256 => PS256.verifier_from_der(der).map(boxed),
        Algorithm::Ps384 => PS384.verifier_from_der(der).map(boxed),
        Algorithm::Ps512 => PS512.verifier_from_der(der).map(boxed),
        Algorithm::Es256 => ES256.verifier_from_der(der).map(boxed),
        Algorithm::Es384 => ES384.verifier_from_der(der).map(boxed),
        Algorithm::Es512 => ES512.verifier_from_der(der).map(boxed),
        Algorithm::EdDsa => EdDSA.verifier_from_der(der).map(boxed),
        Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "public" })
        }
    };
    verifier.map_err(TokenError::KeyRefused)
}

fn signer_from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Box<dyn JwsSigner>, TokenError> {
    fn boxed<S: JwsSigner + 'static>(signer: S) -> Box<dyn JwsSigner> {
        Box::new(signer)
    }
    let signer = match alg {
        Algorithm::Rs256 => RS256.signer_from_der(der).map(boxed),
        Algorithm::Rs384 => RS384.signer_from_der(der).map(boxed),
        Algorithm::Rs512 => RS512.signer_from_der(der).map(boxed),
        Algorithm::Ps256 => PS256.signer_from_der(der).map(boxed),
        Algorithm::Ps384 => PS384.signer_from_der(der).map(boxed),
        Algorithm::Ps512 => PS512.signer_from_der(der).map(boxed),
        Algorithm::Es256 => ES256.signer_from_der(der).map(boxed),
        Algorithm::Es384 => ES384.signer_from_der(der).map(boxed),
        Algorithm::Es512 => ES512.signer_from_der(der).map(boxed),
        Algorithm::EdDsa => EdDSA.signer_from_der(der).map(boxed),
        Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "private" })
        }
    };
    signer.map_err(TokenError::KeyRefused)
}

fn signer_from_jwk(alg: Algorithm, jwk: &Jwk) -> Result<Box<dyn JwsSigner>, TokenError> {
    fn boxed<S: JwsSigner + 'static>(signer: S) -> Box<dyn JwsSigner> {
        Box::new(signer)
    }
    let signer = match alg {
        Algorithm::Rs256 => RS256.signer_from_jwk(jwk).map(boxed),
        Algorithm::Rs384 => RS384.signer_from_jwk(jwk).map(boxed),
        Algorithm::Rs512 => RS512.signer_from_jwk(jwk).map(boxed),
        Algorithm::Ps256 => PS256.signer_from_jwk(jwk).map(boxed),
        Algorithm::Ps384 => PS384.signer_from_jwk(jwk).map(boxed),
        Algorithm::Ps512 => PS512.signer_from_jwk(jwk).map(boxed),
        Algorithm::Es256 => ES256.signer_from_jwk(jwk).map(boxed),
        Algorithm::Es384 => ES384.signer_from_jwk(jwk).map(boxed),
        Algorithm::Es512 => ES512.signer_from_jwk(jwk).map(boxed),
        Algorithm::EdDsa => EdDSA.signer_from_jwk(jwk).map(boxed),
        Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "private" })
        }
    };
    signer.map_err(TokenError::KeyRefused)
}
