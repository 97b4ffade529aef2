//! `tokenctl`: secrets, key pairs and tokens on the command line, built on
//! the `jwt-session-token` crate, so that nobody needs to paste a private key
//! into a web page to mint or check a token.
#![forbid(unsafe_code)]

/// `println!` that does not panic when the reader has gone: see [`out::line`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::line(format_args!($($arg)*)) };
}

mod cli;
mod commands;
mod failure;
mod input;
mod out;
mod time;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Secret(args) => commands::secret(&args),
        Command::Keygen(args) => commands::keygen(&args),
        Command::Mint(args) => commands::mint(&args),
        Command::Decode(args) => commands::decode(&args),
        Command::Verify(args) => commands::verify(&args),
        Command::AppToken(args) => commands::app_token(&args),
        Command::Jwks(args) => commands::jwks(&args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("tokenctl: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
