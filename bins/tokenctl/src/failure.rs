//! How a command fails: a message for stderr and the exit code.

use std::fmt::Display;

/// Exit code of usage and input errors (clap uses 2 for its own too).
pub(crate) const USAGE: u8 = 2;

/// A command that could not run: a message naming the argument at fault
/// and what to do, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// An input or usage error (exit code 2).
    pub(crate) fn usage(message: impl Display) -> Self {
        Self { code: USAGE, message: message.to_string() }
    }
}

/// The result of a command: its exit code, or why it could not run.
pub(crate) type Outcome = Result<std::process::ExitCode, Failure>;
