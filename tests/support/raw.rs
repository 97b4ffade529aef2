//! A minimal HTTP/1.1 client over a plain TCP socket, for requests that
//! reqwest will not send: header values that are not UTF-8 or hold control
//! bytes, the same header twice, a megabyte of cookie.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// What came back on the socket.
#[derive(Debug, PartialEq)]
pub enum RawAnswer {
    /// A complete HTTP response.
    Response {
        /// Status code.
        status: u16,
        /// The body as JSON (`Null` when it is not JSON).
        body: Value,
    },
    /// The server closed or reset the connection without a complete answer.
    Closed(String),
}

impl RawAnswer {
    /// The status code, if a response came back.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response { status, .. } => Some(*status),
            Self::Closed(_) => None,
        }
    }
}

/// Sends `POST path` with the given raw header lines (each `name: value`
/// without the line end) and a JSON `body`, on a fresh connection that the
/// request asks to close, and reads the answer.
///
/// # Panics
///
/// If it cannot connect to `addr` (`127.0.0.1:port`).
pub fn post(addr: &str, path: &str, headers: &[Vec<u8>], body: &str) -> RawAnswer {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for line in headers {
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    exchange(addr, &request)
}

/// Writes `request` on a new connection to `addr` and reads until the server
/// closes it.
///
/// # Panics
///
/// If it cannot connect.
pub fn exchange(addr: &str, request: &[u8]) -> RawAnswer {
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));

    // The server may answer (431) and close before it has read everything.
    let write_error = stream.write_all(request).err();
    let mut received = Vec::new();
    let read_error = stream.read_to_end(&mut received).err();
    if received.is_empty() {
        let why = read_error.or(write_error).map_or_else(|| "closed".to_owned(), |e| e.to_string());
        return RawAnswer::Closed(why);
    }
    if read_error.as_ref().is_some_and(|e| e.kind() != ErrorKind::ConnectionReset) {
        return RawAnswer::Closed(format!("read failed: {read_error:?}"));
    }
    parse(&received).unwrap_or_else(|| RawAnswer::Closed("incomplete response".to_owned()))
}

/// Parses a response whose body is delimited by `Content-Length`.
fn parse(bytes: &[u8]) -> Option<RawAnswer> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let length: usize = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let body = bytes.get(end + 4..end + 4 + length)?;
    Some(RawAnswer::Response { status, body: serde_json::from_slice(body).unwrap_or(Value::Null) })
}
