# Recipes for people who have `just`; each is one plain command, so nothing
# here is needed to build, run or test the project.

# Serve the todo API on 127.0.0.1:8080 with the embedded store.
run:
    cargo run -p todo-server

# The whole test suite, real Redis included (installs redis-server if it can).
test *ARGS:
    ./scripts/test {{ARGS}}

# Load test against a release build with a private Redis; writes docs/LOAD.md.
# Arguments go to todo-load, e.g. `just load --duration 30s --users 20`.
load *ARGS:
    ./scripts/load {{ARGS}}

# Every benchmark figure of docs/BENCHMARKS.md: the token crate's criterion
# benchmarks, then wrk against a release build with a private Redis.
# `just bench tokens` or `just bench load --duration 30` runs one part.
bench *ARGS:
    ./scripts/bench {{ARGS}}

# Criterion benchmarks of the token crate beside jsonwebtoken and the HS256
# floor alone; writes target/bench/tokens.md (`just bench-tokens --runs 3`).
bench-tokens *ARGS:
    ./scripts/bench-tokens {{ARGS}}

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# What CI runs.
ci:
    bash .ci/run

# Fuzz the token parser (needs a nightly toolchain and `cargo install cargo-fuzz`).
# Stable CI replays the same target over its seed corpus: the `fuzz_corpus` test.
fuzz *ARGS:
    cd fuzz && cargo +nightly fuzz run token_parser corpus/token_parser {{ARGS}}
