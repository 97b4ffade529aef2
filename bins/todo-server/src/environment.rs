//! The variables the server reads: the process environment, then `.env`.
//!
//! `.env` only fills in what the process environment leaves unset. It is
//! read into the same map, not into the process environment, so a value no
//! environment could hold (a NUL byte) is refused by name like any other
//! bad line. No value read here is ever printed: any of them may be a secret.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::settings::SHORT_NAMES;

/// Whether the server reads the variable `name` (so a bad value of it must
/// stop it, where a bad value of any other variable is none of its business).
fn is_read(name: &str) -> bool {
    name.starts_with("APP_")
        || matches!(name, "RUST_LOG" | "LOG_FORMAT")
        || SHORT_NAMES.iter().any(|(short, _)| *short == name)
}

/// The process environment with `.env` under it, or why it cannot be read.
pub(crate) fn load() -> Result<HashMap<String, String>, String> {
    let mut vars = from_process(std::env::vars_os())?;
    let dir = std::env::current_dir().ok();
    if let Some(path) = dir.as_deref().map(find_env_file).transpose()?.flatten() {
        for (name, value) in read_env_file(&path)? {
            vars.entry(name).or_insert(value);
        }
    }
    Ok(vars)
}

/// The variables that are text. A variable the server reads must be; any
/// other that is not is left out.
fn from_process(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for (name, value) in vars {
        // Every name the server reads is ASCII.
        let Ok(name) = name.into_string() else { continue };
        match value.into_string() {
            Ok(value) => {
                map.insert(name, value);
            }
            Err(_) if is_read(&name) => {
                return Err(format!(
                    "{name} is not valid UTF-8 text; set it to text (its value is not shown)"
                ))
            }
            Err(_) => {}
        }
    }
    Ok(map)
}

/// The `.env` of `dir` or of its nearest parent that has one. Something
/// named `.env` that is not a file (a directory, a link to nothing) is an
/// error, not a file to pass over.
fn find_env_file(dir: &Path) -> Result<Option<PathBuf>, String> {
    for candidate in dir.ancestors().map(|d| d.join(".env")) {
        if std::fs::symlink_metadata(&candidate).is_ok() {
            if !candidate.is_file() {
                return Err(format!(
                    "{} is not a file (a directory, or a link to nothing): make it one, \
                     or remove it",
                    candidate.display()
                ));
            }
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// The variables `path` sets, in order.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let cannot = |error: &dyn std::fmt::Display| format!("cannot read {}: {error}", path.display());
    let contents = std::fs::read_to_string(path).map_err(|e| cannot(&e))?;
    if contents.starts_with('\u{FEFF}') {
        return Err(format!(
            "{} starts with a byte order mark (BOM): save it as UTF-8 without one",
            path.display()
        ));
    }
    let mut vars = Vec::new();
    for line in dotenvy::from_read_iter(contents.as_bytes()) {
        match line {
            Ok((name, value)) if value.contains('\0') => {
                return Err(format!(
                    "{}: the value of {name} holds a NUL byte, which no environment variable \
                     can: remove it",
                    path.display()
                ));
            }
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(text, _)) => {
                return Err(unparsable(path, &contents, &text))
            }
            Err(error) => return Err(cannot(&error)),
        }
    }
    Ok(vars)
}

/// Why `path`, holding `contents`, was refused at the line that begins with
/// `text`, named by its number, never shown.
fn unparsable(path: &Path, contents: &str, text: &str) -> String {
    // dotenvy gives the line, or only the value after `=`, without its
    // number: it is found again as the first line that is not a comment and
    // is that text or ends with it.
    let first = text.lines().next().unwrap_or_default().trim_end();
    let number = contents.lines().position(|line| {
        let line = line.trim_end();
        !first.is_empty()
            && !line.trim_start().starts_with('#')
            && (line == first || line.ends_with(first))
    });
    let place = match number {
        Some(index) => format!("{}, line {}", path.display(), index + 1),
        None => path.display().to_string(),
    };
    format!(
        "{place} does not parse: a line must be KEY=value, and a value with spaces, quotes or \
         `#` must be quoted (KEY=\"a b\"); the line is not shown, as it may hold a secret"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn bytes(name: &str, value: &[u8]) -> (OsString, OsString) {
        (OsString::from(name), OsString::from_vec(value.to_vec()))
    }

    #[test]
    fn a_variable_the_server_reads_must_be_text_and_is_named_not_shown() {
        let vars = [bytes("ACCESS_SECRET", b"s3cr3t\xff")];
        let error = from_process(vars.into_iter()).unwrap_err();
        assert!(error.starts_with("ACCESS_SECRET is not valid UTF-8"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");

        let vars = [bytes("APP__STORE__TIMEOUT_MS", b"\xff")];
        assert!(from_process(vars.into_iter()).is_err());
    }

    #[test]
    fn other_variables_that_are_not_text_are_left_out() {
        let vars = [bytes("UNRELATED", b"x\xff"), bytes("LISTEN_ADDR", b"127.0.0.1:0")];
        let map = from_process(vars.into_iter()).unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map["LISTEN_ADDR"], "127.0.0.1:0");
    }

    #[test]
    fn a_dotenv_value_with_a_nul_byte_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A=1\nACCESS_SECRET=TOPSECRET\0tail\n").unwrap();
        let error = read_env_file(&path).unwrap_err();
        assert!(error.contains("the value of ACCESS_SECRET holds a NUL byte"), "{error}");
        assert!(!error.contains("TOPSECRET"), "{error}");
    }

    #[test]
    fn a_dotenv_line_that_does_not_parse_is_named_by_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A=1\n\nACCESS_SECRET=two words\n").unwrap();
        let error = read_env_file(&path).unwrap_err();
        assert!(error.contains(".env, line 3 does not parse"), "{error}");
        assert!(!error.contains("words"), "{error}");

        // A comment holding the same words is not the line.
        std::fs::write(&path, "A=1\n# two words here\nB=2\nC=two words\n").unwrap();
        let error = read_env_file(&path).unwrap_err();
        assert!(error.contains(".env, line 4 does not parse"), "{error}");

        std::fs::write(&path, "\u{FEFF}A=1\n").unwrap();
        let error = read_env_file(&path).unwrap_err();
        assert!(error.contains("byte order mark"), "{error}");
    }

    #[test]
    fn a_dotenv_that_is_not_a_file_is_refused_and_a_parent_one_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let child = dir.path().join("child");
        std::fs::create_dir(&child).unwrap();
        std::fs::write(dir.path().join(".env"), "A=1\n").unwrap();
        assert_eq!(find_env_file(&child).unwrap(), Some(dir.path().join(".env")));

        std::fs::create_dir(child.join(".env")).unwrap();
        let error = find_env_file(&child).unwrap_err();
        assert!(error.contains("is not a file"), "{error}");

        let linked = dir.path().join("linked");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(dir.path().join("missing"), linked.join(".env")).unwrap();
        assert!(find_env_file(&linked).unwrap_err().contains("a link to nothing"));
    }
}
