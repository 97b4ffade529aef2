//! The `token_parser` fuzz target on the stable toolchain: its body replays
//! the seed corpus, and proptest feeds it and the Bearer/cookie extraction
//! generated input. `just fuzz` runs the real fuzzer (nightly, cargo-fuzz).

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

#[path = "../fuzz/src/lib.rs"]
#[allow(unreachable_pub)]
mod target;

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use jwt_session_actix::{access_token, bearer_token, TokenSource};
use jwt_session_token::TokenKind;
use proptest::prelude::*;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = e2e::workspace_root().join("fuzz/corpus/token_parser");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn the_fuzz_target_survives_its_seed_corpus() {
    let seeds = corpus();
    assert!(seeds.len() >= 15, "the seed corpus has only {} files", seeds.len());
    for (name, data) in &seeds {
        let outcome = std::panic::catch_unwind(|| target::token_parser(data));
        assert!(outcome.is_ok(), "the fuzz target failed on {name}");
    }
}

#[test]
fn the_signed_seeds_reach_the_claims_rules() {
    // Signing a seed's header and claims must give a token that passes: the
    // second way of the target then checks accepted claims, not only refusals.
    let seed =
        std::fs::read(e2e::workspace_root().join("fuzz/corpus/token_parser/signed-valid-claims"))
            .unwrap();
    let newline = seed.iter().position(|b| *b == b'\n').unwrap();
    let token = target::sign(&seed[..newline], &seed[newline + 1..]);
    assert!(target::service().verify_at(&token, TokenKind::Access, target::NOW).is_ok());
}

fn issued() -> String {
    target::service().issue_pair_at("1", "s", target::NOW).unwrap().access.token
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_go_through_the_fuzz_target_cleanly(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        target::token_parser(&data);
    }

    #[test]
    fn any_header_value_is_extracted_cleanly(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = HeaderValue::from_bytes(&data) {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value.clone());
            if let Ok(Some(token)) = bearer_token(&headers) {
                prop_assert!(!token.is_empty());
                prop_assert!(token.bytes().all(|b| b.is_ascii_graphic()));
            }
            let req = actix_web::test::TestRequest::default()
                .insert_header((COOKIE, value))
                .to_http_request();
            let found = access_token(&req);
            prop_assert!(found.is_err() || matches!(found, Ok((_, TokenSource::Cookie))));
        }
    }

    #[test]
    fn a_valid_token_with_any_one_byte_changed_is_refused(index in 0usize..1024, byte in any::<u8>()) {
        let token = issued();
        let index = index % token.len();
        prop_assume!(token.as_bytes()[index] != byte);
        let mut changed = token.into_bytes();
        changed[index] = byte;

        if let Ok(text) = std::str::from_utf8(&changed) {
            prop_assert!(target::service().verify_at(text, TokenKind::Access, target::NOW).is_err());
        }
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(&changed);
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value);
            if let Ok(Some(token)) = bearer_token(&headers) {
                prop_assert!(target::service().verify_at(token, TokenKind::Access, target::NOW).is_err());
            }
        }
    }
}
