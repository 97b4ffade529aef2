//! Standard output that a closed pipe does not turn into a panic.

use std::io::{ErrorKind, Write as _};

/// Exit status of a program stopped by SIGPIPE (128 + 13), as a shell shows
/// it: the output was cut short, so the command did not finish its work.
const CLOSED_PIPE: i32 = 141;

/// Writes `args` and a newline to stdout. `println!` panics when the reader
/// has gone (`tokenctl decode "$TOKEN" | head -3`); here the program stops
/// quietly with status 141 instead, as a program killed by SIGPIPE would,
/// and any other write error stops it with a message and status 2.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n"));
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::BrokenPipe => std::process::exit(CLOSED_PIPE),
        Err(error) => {
            eprintln!("tokenctl: error: cannot write to stdout: {error}");
            std::process::exit(2);
        }
    }
}
