//! `cargo +nightly fuzz run token_parser`: arbitrary bytes as a token, a
//! signed header and claims, an `Authorization` header and a cookie.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jwt_session_fuzz::token_parser(data));
