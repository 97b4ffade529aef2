use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::claims::{Claims, UncheckedClaims, Verified};
use crate::compact::{self, Header};
use crate::service::unix_now;
use crate::{KeySet, TokenError, TokenKind, TokenService, TokenSettings};

impl TokenService {
    /// Verifies `token` as a token of `kind` at the current time and returns
    /// its claims.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the token was refused.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        self.verify_at(token, kind, unix_now())
    }

    /// Verifies `token` as a token of `kind` at `now` (seconds since the Unix
    /// epoch).
    ///
    /// The steps, each refusing with its own error: the length limit, before
    /// anything is decoded; the three-part shape (a five-part JWE is refused);
    /// the header (`crit`, `zip` and `enc` are refused; `kid` selects the key
    /// among this kind's keys, and without `kid` there must be exactly one;
    /// the `alg` must be the one pinned for that key, whatever the token
    /// claims; `typ` must name `kind`); the signature, HMAC compared in
    /// constant time; and only then the claims (`exp` required, `exp`, `nbf`
    /// and `iat` with the leeway, `iss`, `aud`, and `sub`, `jti` and `sid`
    /// present).
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the token was refused.
    pub fn verify_at(&self, token: &str, kind: TokenKind, now: u64) -> Result<Claims, TokenError> {
        let payload = self.verified_payload(token, kind, now)?;
        claims_from(&payload, self.settings(), now)
    }

    /// As [`verify`](Self::verify), also reading the caller's own claims of
    /// type `C` from the same payload (registered claims stay in
    /// [`Verified::claims`]).
    ///
    /// `C` sees the whole claims object, so it must not deny unknown fields.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); [`TokenError::CustomClaims`] when the
    /// payload does not deserialize into `C`.
    pub fn verify_custom<C: DeserializeOwned>(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> Result<Verified<C>, TokenError> {
        self.verify_custom_at(token, kind, unix_now())
    }

    /// As [`verify_custom`](Self::verify_custom), at `now`.
    ///
    /// # Errors
    ///
    /// As [`verify_custom`](Self::verify_custom).
    pub fn verify_custom_at<C: DeserializeOwned>(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Verified<C>, TokenError> {
        let payload = self.verified_payload(token, kind, now)?;
        verified_from(&payload, self.settings(), now)
    }

    fn verified_payload(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Vec<u8>, TokenError> {
        let keys = self.keys().read(kind);
        verify_token(&keys.set, self.settings(), token, kind, now)
    }
}

impl KeySet {
    /// Verifies any compact JWS against this set and returns its payload
    /// bytes, which need not be JSON; no claim is checked.
    ///
    /// The header checks and the signature are those of
    /// [`TokenService::verify_at`] (`crit`, `zip`, `enc` refused, `kid`
    /// selects the key, `alg` pinned by the key), without the `typ` check.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the JWS was refused.
    pub fn verify_compact(&self, jws: &str) -> Result<Vec<u8>, TokenError> {
        self.verify_compact_at(jws, unix_now())
    }

    /// As [`verify_compact`](Self::verify_compact), at `now` (seconds since
    /// the Unix epoch), which decides only whether a retired key still
    /// verifies.
    ///
    /// # Errors
    ///
    /// As [`verify_compact`](Self::verify_compact).
    pub fn verify_compact_at(&self, jws: &str, now: u64) -> Result<Vec<u8>, TokenError> {
        check_signed(self, jws, None, now)
    }
}

/// The length limit, then [`check_signed`] with the `typ` of `kind`.
pub(crate) fn verify_token(
    keys: &KeySet,
    settings: &TokenSettings,
    token: &str,
    kind: TokenKind,
    now: u64,
) -> Result<Vec<u8>, TokenError> {
    let max = settings.max_token_bytes;
    if token.len() > max {
        return Err(TokenError::TooLong { len: token.len(), max });
    }
    check_signed(keys, token, Some(kind), now)
}

/// Checks the shape, the header and the signature; returns the payload.
fn check_signed(
    keys: &KeySet,
    token: &str,
    kind: Option<TokenKind>,
    now: u64,
) -> Result<Vec<u8>, TokenError> {
    let parts = compact::split(token)?;

    // A header that is byte for byte one of our keys' own is known without
    // decoding it; any other is decoded and parsed. Either way the checks
    // below run on the same values.
    let decoded;
    let known = kind.and_then(|kind| Some((kind, keys.known_header(parts.header, kind)?)));
    let header = match known {
        Some((kind, key)) => Header {
            alg: Cow::Borrowed(key.algorithm().as_str()),
            typ: Some(Cow::Borrowed(kind.typ())),
            kid: key.kid().map(Cow::Borrowed),
            crit: false,
            zip: false,
            enc: false,
        },
        None => {
            const NOT_JSON: TokenError = TokenError::Malformed("header is not base64url JSON");
            decoded = compact::decode_text(parts.header, "header is not base64url JSON")?;
            serde_json::from_slice(&decoded).map_err(|_| NOT_JSON)?
        }
    };
    if header.crit {
        return Err(TokenError::UnsupportedHeader("crit"));
    }
    if header.zip {
        return Err(TokenError::UnsupportedHeader("zip"));
    }
    if header.enc {
        return Err(TokenError::UnsupportedHeader("enc"));
    }
    let key = keys.select(header.kid.as_deref(), now)?;
    if header.alg != key.algorithm().as_str() {
        return Err(TokenError::WrongAlgorithm);
    }
    if let Some(kind) = kind {
        if !header.typ.is_some_and(|typ| kind.matches_typ(&typ)) {
            return Err(TokenError::WrongType { expected: kind.typ() });
        }
    }

    let mut buffer = [0u8; compact::STACK_SIGNATURE_BYTES];
    let signature =
        compact::decode_signature(parts.signature, "signature is not base64url", &mut buffer)?;
    key.verify(parts.signing_input.as_bytes(), &signature)?;

    compact::decode_text(parts.payload, "claims are not a base64url JSON object")
}

/// The registered claims of a verified payload, validated at `now`.
pub(crate) fn claims_from(
    payload: &[u8],
    settings: &TokenSettings,
    now: u64,
) -> Result<Claims, TokenError> {
    let claims: UncheckedClaims = serde_json::from_slice(payload)
        .map_err(|_| TokenError::Malformed("claims are not a base64url JSON object"))?;
    claims.validate(settings, now)
}

/// The registered and the caller's claims of a verified payload.
pub(crate) fn verified_from<C: DeserializeOwned>(
    payload: &[u8],
    settings: &TokenSettings,
    now: u64,
) -> Result<Verified<C>, TokenError> {
    let claims = claims_from(payload, settings, now)?;
    let custom = serde_json::from_slice(payload).map_err(TokenError::CustomClaims)?;
    Ok(Verified { claims, custom })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::{encode, sign};
    use crate::keys::HmacKey;
    use crate::{JwsKey, TokenKeys};
    use josekit::jws::{JwsSigner, HS384, HS512};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const ACCESS_SECRET: &[u8] = b"access-secret-access-secret-0123";
    const REFRESH_SECRET: &[u8] = b"refresh-secret-refresh-secret-01";
    const NOW: u64 = 1_800_000_000;

    fn service() -> TokenService {
        let keys = TokenKeys::hs256(ACCESS_SECRET, REFRESH_SECRET).unwrap();
        TokenService::new(TokenSettings::new("jwt-todo-app", "jwt-todo-client"), keys).unwrap()
    }

    fn claims_json(exp: Value) -> Value {
        json!({
            "iss": "jwt-todo-app", "aud": ["jwt-todo-client"], "sub": "1",
            "jti": "j-1", "sid": "s-1", "iat": NOW, "exp": exp,
        })
    }

    /// Signs arbitrary header and claims JSON with the access secret.
    fn forge(header: &Value, claims: &Value) -> String {
        let key = JwsKey::from(HmacKey::hs256(ACCESS_SECRET).unwrap());
        sign(&key, &encode(header.to_string().as_bytes()), claims.to_string().as_bytes()).unwrap()
    }

    fn access_header() -> Value {
        json!({"alg": "HS256", "typ": "at+jwt"})
    }

    fn verify(token: &str) -> Result<Claims, TokenError> {
        service().verify_at(token, TokenKind::Access, NOW)
    }

    #[test]
    fn issued_pair_verifies_as_its_own_kinds_with_shared_session_and_distinct_ids() {
        let tokens = service();
        let pair = tokens.issue_pair_at("user-1", "sess-1", NOW).unwrap();

        let access = tokens.verify_at(&pair.access.token, TokenKind::Access, NOW).unwrap();
        let refresh = tokens.verify_at(&pair.refresh.token, TokenKind::Refresh, NOW).unwrap();

        assert_eq!(access, pair.access.claims);
        assert_eq!(refresh, pair.refresh.claims);
        assert_eq!((access.sub.as_str(), access.sid.as_str()), ("user-1", "sess-1"));
        assert_eq!(refresh.sid, "sess-1");
        assert_ne!(access.jti, refresh.jti);
        assert_eq!(access.exp - access.iat, 900);
        assert_eq!(refresh.exp - refresh.iat, 604_800);
        assert_eq!(access.aud, ["jwt-todo-client"]);
    }

    #[test]
    fn times_are_written_as_whole_seconds_and_typ_names_the_kind() {
        let pair = service().issue_pair_at("1", "s", NOW).unwrap();
        let parts = compact::split(&pair.access.token).unwrap();
        let header: Value =
            serde_json::from_slice(&compact::decode(parts.header, "").unwrap()).unwrap();
        let claims: Value =
            serde_json::from_slice(&compact::decode(parts.payload, "").unwrap()).unwrap();

        assert_eq!(header, json!({"alg": "HS256", "typ": "at+jwt"}));
        for name in ["iat", "exp"] {
            assert!(claims[name].is_u64(), "{name} is {}", claims[name]);
        }
    }

    #[test]
    fn refresh_token_is_refused_as_access_token_and_the_reverse() {
        let tokens = service();
        let pair = tokens.issue_pair_at("1", "s", NOW).unwrap();

        let as_access = tokens.verify_at(&pair.refresh.token, TokenKind::Access, NOW);
        let as_refresh = tokens.verify_at(&pair.access.token, TokenKind::Refresh, NOW);

        assert!(matches!(as_access, Err(TokenError::WrongType { expected: "at+jwt" })));
        assert!(matches!(as_refresh, Err(TokenError::WrongType { expected: "refresh+jwt" })));
    }

    #[test]
    fn kinds_stay_apart_even_when_both_share_one_secret() {
        let keys = TokenKeys::hs256(ACCESS_SECRET, ACCESS_SECRET).unwrap();
        let tokens = TokenService::new(TokenSettings::new("i", "a"), keys).unwrap();
        let pair = tokens.issue_pair_at("1", "s", NOW).unwrap();

        let refused = tokens.verify_at(&pair.refresh.token, TokenKind::Access, NOW);

        assert!(matches!(refused, Err(TokenError::WrongType { .. })));
    }

    #[test]
    fn missing_typ_is_refused() {
        let token = forge(&json!({"alg": "HS256"}), &claims_json(json!(NOW + 60)));
        assert!(matches!(verify(&token), Err(TokenError::WrongType { .. })));
    }

    #[test]
    fn wrong_issuer_and_wrong_audience_are_refused() {
        let mut claims = claims_json(json!(NOW + 60));
        claims["iss"] = json!("someone-else");
        assert!(matches!(verify(&forge(&access_header(), &claims)), Err(TokenError::WrongIssuer)));

        let mut claims = claims_json(json!(NOW + 60));
        claims["aud"] = json!(["other-client", "third"]);
        assert!(matches!(
            verify(&forge(&access_header(), &claims)),
            Err(TokenError::WrongAudience)
        ));
    }

    #[test]
    fn audience_may_be_a_string_or_an_array_containing_ours() {
        let mut claims = claims_json(json!(NOW + 60));
        claims["aud"] = json!("jwt-todo-client");
        assert!(verify(&forge(&access_header(), &claims)).is_ok());

        claims["aud"] = json!(["other", "jwt-todo-client"]);
        assert!(verify(&forge(&access_header(), &claims)).is_ok());
    }

    #[test]
    fn alg_none_in_any_case_is_refused_with_or_without_signature() {
        let payload = encode(claims_json(json!(NOW + 60)).to_string().as_bytes());
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = encode(json!({"alg": alg, "typ": "at+jwt"}).to_string().as_bytes());
            for signature in ["", "c2lnbmF0dXJl"] {
                let token = format!("{header}.{payload}.{signature}");
                assert!(matches!(verify(&token), Err(TokenError::WrongAlgorithm)), "{alg}");
            }
        }
    }

    #[test]
    fn hs384_and_hs512_under_the_right_secret_are_refused() {
        let claims = claims_json(json!(NOW + 60)).to_string();
        // The real access secret, doubled so it is long enough for HS512.
        let secret = [ACCESS_SECRET, ACCESS_SECRET].concat();
        let signers: [(&str, Box<dyn JwsSigner>); 2] = [
            ("HS384", Box::new(HS384.signer_from_bytes(&secret).unwrap())),
            ("HS512", Box::new(HS512.signer_from_bytes(&secret).unwrap())),
        ];
        for (alg, signer) in &signers {
            let input = format!(
                "{}.{}",
                encode(json!({"alg": alg, "typ": "at+jwt"}).to_string().as_bytes()),
                encode(claims.as_bytes())
            );
            let token = format!("{input}.{}", encode(&signer.sign(input.as_bytes()).unwrap()));
            assert!(matches!(verify(&token), Err(TokenError::WrongAlgorithm)), "{alg}");
        }
    }

    #[test]
    fn expiry_is_enforced_beyond_the_leeway_only() {
        let within = forge(&access_header(), &claims_json(json!(NOW - 29)));
        let beyond = forge(&access_header(), &claims_json(json!(NOW - 30)));

        assert!(verify(&within).is_ok());
        assert!(matches!(verify(&beyond), Err(TokenError::Expired)));
    }

    #[test]
    fn token_without_exp_is_refused() {
        let mut claims = claims_json(json!(0));
        claims.as_object_mut().unwrap().remove("exp");
        let token = forge(&access_header(), &claims);
        assert!(matches!(verify(&token), Err(TokenError::MissingClaim("exp"))));
    }

    #[test]
    fn future_nbf_and_iat_are_refused_beyond_the_leeway() {
        let mut claims = claims_json(json!(NOW + 600));
        claims["nbf"] = json!(NOW + 31);
        assert!(matches!(verify(&forge(&access_header(), &claims)), Err(TokenError::NotYetValid)));
        claims["nbf"] = json!(NOW + 30);
        assert!(verify(&forge(&access_header(), &claims)).is_ok());

        let mut claims = claims_json(json!(NOW + 600));
        claims["iat"] = json!(NOW + 31);
        assert!(matches!(verify(&forge(&access_header(), &claims)), Err(TokenError::NotYetValid)));
    }

    #[test]
    fn times_that_are_not_whole_non_negative_seconds_are_refused() {
        for exp in [json!("1900000000"), json!(1.9e9), json!(-1), json!(1e300), json!(null)] {
            let token = forge(&access_header(), &claims_json(exp.clone()));
            assert!(verify(&token).is_err(), "exp {exp} accepted");
        }
    }

    #[test]
    fn missing_subject_session_or_id_is_refused() {
        for name in ["sub", "jti", "sid", "iss", "aud", "iat"] {
            let mut claims = claims_json(json!(NOW + 60));
            claims.as_object_mut().unwrap().remove(name);
            let refused = verify(&forge(&access_header(), &claims));
            assert!(matches!(refused, Err(TokenError::MissingClaim(n)) if n == name), "{name}");
        }
    }

    #[test]
    fn flipped_signature_byte_is_refused() {
        let token = service().issue_pair_at("1", "s", NOW).unwrap().access.token;
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut raw = compact::decode(signature, "").unwrap();
        raw[0] ^= 0x01;
        let tampered = format!("{input}.{}", encode(&raw));
        assert!(matches!(verify(&tampered), Err(TokenError::BadSignature)));
    }

    #[test]
    fn token_over_the_limit_is_refused_before_decoding() {
        let junk = "!".repeat(100 * 1024);
        assert!(matches!(verify(&junk), Err(TokenError::TooLong { len: 102_400, max: 4096 })));
    }

    #[test]
    fn wrong_number_of_parts_is_malformed() {
        let token = service().issue_pair_at("1", "s", NOW).unwrap().access.token;
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{token}.x"),
            format!("{token}.x.y"),
            token.replacen('.', "..", 1),
        ] {
            assert!(matches!(verify(&bad), Err(TokenError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn padded_or_non_canonical_base64url_is_refused() {
        let token = service().issue_pair_at("1", "s", NOW).unwrap().access.token;
        let (input, signature) = token.rsplit_once('.').unwrap();

        let padded = format!("{input}.{signature}=");
        assert!(verify(&padded).is_err());

        // 32 bytes encode to 43 characters whose last one carries 2 unused bits.
        let last = signature.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        let sibling = alphabet.chars().nth(index ^ 0b01).unwrap();
        let non_canonical = format!("{input}.{}{sibling}", &signature[..signature.len() - 1]);
        assert!(matches!(verify(&non_canonical), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn crit_and_zip_headers_are_refused() {
        let claims = claims_json(json!(NOW + 60));
        let crit = json!({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"], "exp": 1});
        let zip = json!({"alg": "HS256", "typ": "at+jwt", "zip": "DEF"});
        assert!(matches!(
            verify(&forge(&crit, &claims)),
            Err(TokenError::UnsupportedHeader("crit"))
        ));
        assert!(matches!(verify(&forge(&zip, &claims)), Err(TokenError::UnsupportedHeader("zip"))));
    }

    #[test]
    fn duplicate_claims_are_refused() {
        let key = JwsKey::from(HmacKey::hs256(ACCESS_SECRET).unwrap());
        let header = encode(access_header().to_string().as_bytes());
        let payload = format!(
            r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","sub":"2","jti":"j","sid":"s","iat":{NOW},"exp":{}}}"#,
            NOW + 60
        );
        let token = sign(&key, &header, payload.as_bytes()).unwrap();
        assert!(matches!(verify(&token), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn a_header_naming_two_kids_is_refused() {
        let key = JwsKey::from(HmacKey::hs256(ACCESS_SECRET).unwrap());
        let header = encode(br#"{"alg":"HS256","typ":"at+jwt","kid":"a","kid":"b"}"#);
        let claims = claims_json(json!(NOW + 60)).to_string();
        let token = sign(&key, &header, claims.as_bytes()).unwrap();
        assert!(matches!(verify(&token), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_even_in_ignored_members() {
        let key = JwsKey::from(HmacKey::hs256(ACCESS_SECRET).unwrap());
        let claims = claims_json(json!(NOW + 60)).to_string();
        let header = encode(b"{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"x\":\"\xff\"}");
        let token = sign(&key, &header, claims.as_bytes()).unwrap();
        assert!(matches!(verify(&token), Err(TokenError::Malformed(_))), "in the header");

        let mut payload = claims.into_bytes();
        payload.pop();
        payload.extend_from_slice(b",\"x\":\"\xc3\x28\"}");
        let token = sign(&key, &encode(access_header().to_string().as_bytes()), &payload).unwrap();
        assert!(matches!(verify(&token), Err(TokenError::Malformed(_))), "in the claims");
    }

    #[test]
    fn a_header_written_another_way_gets_the_same_checks() {
        // Our own header is recognised without parsing; these are parsed.
        let claims = claims_json(json!(NOW + 60));
        let reordered = json!({"typ": "at+jwt", "alg": "HS256"});
        assert!(verify(&forge(&reordered, &claims)).is_ok());
        let upper = json!({"alg": "HS256", "typ": "application/AT+JWT"});
        assert!(verify(&forge(&upper, &claims)).is_ok());
        let escaped = encode(br#"{"alg":"HS256","typ":"at+jwt"}"#);
        let key = JwsKey::from(HmacKey::hs256(ACCESS_SECRET).unwrap());
        let token = sign(&key, &escaped, claims.to_string().as_bytes()).unwrap();
        assert!(verify(&token).is_ok());

        let with_kid = json!({"alg": "HS256", "typ": "at+jwt", "kid": "other"});
        assert!(matches!(verify(&forge(&with_kid, &claims)), Err(TokenError::UnknownKid)));
        let crit = json!({"typ": "at+jwt", "alg": "HS256", "crit": []});
        let refused = verify(&forge(&crit, &claims));
        assert!(matches!(refused, Err(TokenError::UnsupportedHeader("crit"))));
    }

    #[test]
    fn a_known_header_of_a_retired_key_is_refused() {
        let generate = |kid| JwsKey::generate(crate::Algorithm::Hs256).unwrap().with_kid(kid);
        let access = crate::KeySet::new(generate("old")).unwrap();
        let refresh = crate::KeySet::new(generate("refresh")).unwrap();
        let keys = TokenKeys::from_key_sets(access, refresh).unwrap();
        let tokens = TokenService::new(TokenSettings::new("i", "a"), keys).unwrap();
        let token = tokens.issue_pair_at("1", "s", NOW).unwrap().access.token;
        tokens.rotate_key_at(TokenKind::Access, generate("new"), NOW).unwrap();

        // The old key verifies until its last token expires (900 s + 30 s).
        assert!(tokens.verify_at(&token, TokenKind::Access, NOW + 929).is_ok());
        let refused = tokens.verify_at(&token, TokenKind::Access, NOW + 930);
        assert!(matches!(refused, Err(TokenError::UnknownKid)));
    }

    #[test]
    fn header_supplied_keys_are_ignored() {
        // A token signed with an attacker's secret that it names in `jwk` stays refused.
        let claims = claims_json(json!(NOW + 60));
        let attacker = JwsKey::from(HmacKey::hs256(&[9u8; 32]).unwrap());
        let header = json!({"alg": "HS256", "typ": "at+jwt",
            "jwk": {"kty": "oct", "k": encode(&[9u8; 32])}, "jku": "http://evil.invalid/jwks"});
        let token =
            sign(&attacker, &encode(header.to_string().as_bytes()), claims.to_string().as_bytes());
        assert!(matches!(verify(&token.unwrap()), Err(TokenError::BadSignature)));
    }

    #[test]
    fn issuing_refuses_empty_or_huge_ids() {
        let tokens = service();
        assert!(matches!(tokens.issue_pair("", "s"), Err(TokenError::InvalidInput(_))));
        assert!(matches!(tokens.issue_pair("1", ""), Err(TokenError::InvalidInput(_))));
        assert!(matches!(
            tokens.issue_pair(&"x".repeat(257), "s"),
            Err(TokenError::InvalidInput(_))
        ));
    }

    #[test]
    fn the_successor_of_one_refresh_token_is_the_same_pair_every_time() {
        let tokens = service();
        let first = tokens.issue_pair_at("1", "s", NOW).unwrap();

        let once = tokens.issue_successor_at(&first.refresh.claims, NOW + 60).unwrap();
        let again = tokens.issue_successor_at(&first.refresh.claims, NOW + 60).unwrap();

        assert_eq!(once.access.token, again.access.token);
        assert_eq!(once.refresh.token, again.refresh.token);
        assert_eq!(once.refresh.claims.sid, "s");
        assert_ne!(once.refresh.claims.jti, first.refresh.claims.jti);
        assert_ne!(once.access.claims.jti, once.refresh.claims.jti);
        let next = tokens.issue_successor_at(&once.refresh.claims, NOW + 60).unwrap();
        assert_ne!(next.refresh.claims.jti, once.refresh.claims.jti);
    }

    #[test]
    fn issued_token_debug_output_hides_the_token() {
        let issued = service().issue_pair_at("1", "s", NOW).unwrap().access;
        let shown = format!("{issued:?}");
        assert!(!shown.contains(&issued.token));
    }

    #[test]
    fn rfc7515_a1_hmac_vector_is_reproduced() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/jose/rfc7515-a1-hs256.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e}; the shared/ folder must sit beside the repository")
        });
        let vector: Value = serde_json::from_str(&text).unwrap();
        let secret = compact::decode(vector["jwk"]["k"].as_str().unwrap(), "").unwrap();
        let compact_jws = vector["compact"].as_str().unwrap();
        let (input, signature) = compact_jws.rsplit_once('.').unwrap();

        let key = HmacKey::hs256(&secret).unwrap();

        assert_eq!(encode(&key.sign(input.as_bytes()).unwrap()), signature);
        assert!(key.verify(input.as_bytes(), &compact::decode(signature, "").unwrap()).is_ok());
    }

    proptest! {
        #[test]
        fn any_input_is_refused_cleanly(input in ".{0,600}") {
            prop_assert!(verify(&input).is_err());
        }

        #[test]
        fn any_single_byte_change_is_refused(index in 0usize..400, replacement in 0x21u8..0x7f) {
            let token = service().issue_pair_at("1", "s", NOW).unwrap().access.token;
            let index = index % token.len();
            prop_assume!(token.as_bytes()[index] != replacement);
            let mut bytes = token.into_bytes();
            bytes[index] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(verify(&changed).is_err());
        }
    }
}
