//! RESP on the wire: [`Cmd`] encodes one command as RESP arrays of bulk strings, the form every
//! Redis command takes, straight into a send buffer; [`decode`] reads one reply with the
//! `redis-protocol` crate's sans-IO RESP3 decoder and turns it into [`Reply`], the small value
//! type the rest of the cluster layer reads. This file knows the wire only: which commands to
//! send and what their replies mean belong to the link and the stores.

use redis_protocol::resp3::decode::complete;
use redis_protocol::resp3::types::OwnedFrame;
use std::io::Write;

/// One command, encoded as its arguments arrive.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    /// The arguments, each already framed as a bulk string.
    args: Vec<u8>,
    count: usize,
}

impl Cmd {
    /// A command named `name` (`"HGETALL"`), no arguments yet.
    pub(crate) fn new(name: &str) -> Self {
        Cmd {
            args: Vec::with_capacity(64),
            count: 0,
        }
        .arg(name)
    }

    /// Append one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        let arg = arg.as_ref();
        // Writing to a Vec cannot fail.
        let _ = write!(self.args, "${}\r\n", arg.len());
        self.args.extend_from_slice(arg);
        self.args.extend_from_slice(b"\r\n");
        self.count += 1;
        self
    }

    /// Append an integer argument (as its decimal text, which is how Redis reads numbers).
    pub(crate) fn num(self, n: u64) -> Self {
        self.arg(n.to_string())
    }

    /// The command's bytes, appended to `out`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let _ = write!(out, "*{}\r\n", self.count);
        out.extend_from_slice(&self.args);
    }
}

/// One reply, RESP2 or RESP3, reduced to what the cluster layer reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// `+OK`, or any short status.
    Status(String),
    /// An error reply (`-ERR ...`, `-NOSCRIPT ...`).
    Error(String),
    /// An integer (also a RESP3 boolean, as 0 or 1).
    Int(i64),
    /// A bulk, verbatim or big-number string.
    Bulk(Vec<u8>),
    /// A null.
    Nil,
    /// An array or a set.
    Array(Vec<Reply>),
    /// A RESP3 map, as its pairs.
    Map(Vec<(Reply, Reply)>),
    /// A RESP3 out-of-band push (an invalidation, a published message).
    Push(Vec<Reply>),
}

impl Reply {
    /// The reply as text, for strings of any kind.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Reply::Status(s) => Some(s),
            Reply::Bulk(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The error text, if the reply is an error.
    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
}

impl From<OwnedFrame> for Reply {
    fn from(frame: OwnedFrame) -> Self {
        match frame {
            OwnedFrame::SimpleString { data, .. } => {
                Reply::Status(String::from_utf8_lossy(&data).into_owned())
            }
            OwnedFrame::SimpleError { data, .. } => Reply::Error(data),
            OwnedFrame::BlobError { data, .. } => {
                Reply::Error(String::from_utf8_lossy(&data).into_owned())
            }
            OwnedFrame::BlobString { data, .. }
            | OwnedFrame::BigNumber { data, .. }
            | OwnedFrame::VerbatimString { data, .. } => Reply::Bulk(data),
            OwnedFrame::ChunkedString(data) => Reply::Bulk(data),
            OwnedFrame::Number { data, .. } => Reply::Int(data),
            OwnedFrame::Boolean { data, .. } => Reply::Int(i64::from(data)),
            OwnedFrame::Double { data, .. } => Reply::Bulk(data.to_string().into_bytes()),
            OwnedFrame::Null => Reply::Nil,
            OwnedFrame::Array { data, .. } => {
                Reply::Array(data.into_iter().map(Reply::from).collect())
            }
            OwnedFrame::Set { data, .. } => {
                Reply::Array(data.into_iter().map(Reply::from).collect())
            }
            OwnedFrame::Map { data, .. } => Reply::Map(
                data.into_iter()
                    .map(|(k, v)| (Reply::from(k), Reply::from(v)))
                    .collect(),
            ),
            OwnedFrame::Push { data, .. } => {
                Reply::Push(data.into_iter().map(Reply::from).collect())
            }
            // Sent by clients only; a server never answers with one.
            OwnedFrame::Hello { .. } => Reply::Error("unexpected HELLO frame".into()),
        }
    }
}

/// The server sent bytes that are not RESP: the connection cannot be trusted any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Redis sent a malformed reply: {0}")]
pub(crate) struct Malformed(String);

/// The first complete reply in `buf` and the bytes it took; `Ok(None)` until one has fully
/// arrived. RESP3 only (the link says `HELLO 3` first): RESP2's `$-1` null is refused.
pub(crate) fn decode(buf: &[u8]) -> Result<Option<(Reply, usize)>, Malformed> {
    // The decoder calls an empty buffer an error rather than an incomplete frame.
    if buf.is_empty() {
        return Ok(None);
    }
    match complete::decode(buf) {
        Ok(Some((frame, used))) => Ok(Some((Reply::from(frame), used))),
        Ok(None) => Ok(None),
        Err(e) => Err(Malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        Cmd::new("SET")
            .arg("k")
            .arg("välue")
            .num(10)
            .write(&mut out);
        assert_eq!(
            out,
            b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nv\xc3\xa4lue\r\n$2\r\n10\r\n"
        );
    }

    #[test]
    fn replies_decode_one_at_a_time() {
        let wire = b"+OK\r\n:42\r\n_\r\n%1\r\n$1\r\nv\r\n$4\r\n2025\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n-ERR no\r\n";
        let mut at = 0;
        let mut got = Vec::new();
        while let Some((reply, used)) = decode(&wire[at..]).unwrap_or_else(|e| panic!("{e}")) {
            got.push(reply);
            at += used;
        }
        assert_eq!(at, wire.len());
        assert_eq!(
            got,
            vec![
                Reply::Status("OK".into()),
                Reply::Int(42),
                Reply::Nil,
                Reply::Map(vec![(
                    Reply::Bulk(b"v".to_vec()),
                    Reply::Bulk(b"2025".to_vec())
                )]),
                Reply::Push(vec![
                    Reply::Bulk(b"invalidate".to_vec()),
                    Reply::Array(vec![Reply::Bulk(b"k".to_vec())])
                ]),
                Reply::Error("ERR no".into()),
            ]
        );
    }

    #[test]
    fn a_partial_reply_waits_and_garbage_is_refused() {
        assert_eq!(decode(b"$5\r\nhel"), Ok(None));
        assert_eq!(decode(b""), Ok(None));
        assert!(decode(b"!!nonsense\r\n").is_err());
    }
}
