//! HTTP/1.1 responses as a client reads them, sans-IO: bytes in, a head and streamed body events
//! out (RFC 9112 §6.3 decides where each body ends), plus the request head writer a client sends.
//!
//! Bodies are never buffered: an SSE body may never end, so body bytes go out as slices of the
//! input as they arrive. Only an incomplete head, chunk-size line, chunk terminator or trailer
//! section is held between reads, each bounded by the head limit. This file owns the client side
//! only; the server's request codec (the parent module) is reused for its chunk-size and CRLF
//! helpers and must not depend on anything here.

use std::collections::VecDeque;
use std::io::Write as _;
use std::mem::MaybeUninit;

use super::head::STACK_HEADERS;
use super::{chunk_size, find_crlf, Chunk};

/// Limits for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// Header lines at most.
    pub max_headers: usize,
    /// Bytes of status line plus headers at most; also bounds a chunk-size line and a trailer
    /// section.
    pub max_head_bytes: usize,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            max_headers: 64,
            max_head_bytes: 16 * 1024,
        }
    }
}

/// A response's status line and headers.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code (never 1xx: interim responses are skipped).
    pub status: u16,
    /// Every header's name then its value, back to back: one allocation however many headers.
    text: String,
    /// Per header, in arrival order: where its name ends and where its value ends in `text` (it
    /// starts where the previous value ended).
    ends: Vec<(u32, u32)>,
}

impl ResponseHead {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header as (name as sent, value trimmed), in arrival order. A value that is not UTF-8
    /// has its stray bytes replaced by U+FFFD.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            let name = self.text.get(start..name_end).unwrap_or_default();
            let value = self.text.get(name_end..value_end).unwrap_or_default();
            start = value_end;
            (name, value)
        })
    }
}

impl std::fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .finish()
    }
}

/// What the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEvent<'a> {
    /// The head of the next final response (1xx interim responses are skipped).
    Head(ResponseHead),
    /// Body bytes as they arrive, chunked coding removed; never empty.
    Data(&'a [u8]),
    /// The body is complete.
    End {
        /// The connection may carry the next request: HTTP/1.1 without `Connection: close`,
        /// HTTP/1.0 only with `Connection: keep-alive`, never after a close-delimited body.
        reusable: bool,
    },
}

/// Why the bytes are not a response; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The status line or a header line does not parse.
    #[error("malformed response head")]
    Malformed,
    /// More header lines than the limit.
    #[error("too many response headers")]
    TooManyHeaders,
    /// The head is longer than the limit.
    #[error("response head too large")]
    HeadTooLarge,
    /// `101 Switching Protocols`, though no upgrade was asked for.
    #[error("unexpected protocol switch")]
    SwitchingProtocols,
    /// A Content-Length that is not 1*DIGIT, or too large.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Content-Length values that differ.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1: faulty framing).
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingInHttp10,
    /// A chunk-size line that is not 1*HEXDIG (plus extensions), or too large a size.
    #[error("bad chunk size")]
    BadChunkSize,
    /// A chunk's data not followed by CRLF.
    #[error("chunk not followed by CRLF")]
    BadChunkEnd,
    /// A chunk-size line longer than the head limit.
    #[error("chunk-size line too long")]
    ChunkLineTooLong,
    /// A trailer section longer than the head limit.
    #[error("trailers too large")]
    TrailersTooLarge,
    /// The peer closed the connection partway through a response.
    #[error("connection closed mid-response")]
    Truncated,
    /// The peer closed the connection before any byte of an expected response (the request may
    /// not have been processed).
    #[error("connection closed before the response")]
    ClosedBeforeResponse,
    /// Bytes arrived while no request was outstanding.
    #[error("bytes received with no request outstanding")]
    Unsolicited,
    /// Bytes arrived after a response that ends the connection.
    #[error("bytes received after the connection was to close")]
    AfterClose,
}

/// Where the decoder is in the byte stream.
#[derive(Debug)]
enum State {
    /// Between responses: the next bytes are a status line.
    Head,
    /// In a Content-Length body with this many bytes to come.
    Length { left: usize, reusable: bool },
    /// In a chunked body.
    Chunked { chunk: Chunk, reusable: bool },
    /// In a body that ends when the connection does.
    Close,
    /// A response ended the connection (or the peer closed it): no more bytes may come.
    Closed,
    /// The stream was not HTTP; everything after is ignored.
    Failed(ResponseError),
}

/// Incremental response decoder for one client connection.
#[derive(Debug)]
pub struct ResponseDecoder {
    limits: ResponseLimits,
    /// Per request sent and not yet answered, oldest first: whether it was HEAD.
    pending: VecDeque<bool>,
    state: State,
    /// An incomplete head, chunk-size line, chunk terminator or trailer section; never body bytes.
    buf: Vec<u8>,
}

impl ResponseDecoder {
    /// A decoder enforcing `limits`, expecting no response yet.
    pub fn new(limits: ResponseLimits) -> Self {
        ResponseDecoder {
            limits,
            pending: VecDeque::new(),
            state: State::Head,
            buf: Vec::new(),
        }
    }

    /// A request was sent: one more response is expected. `head_only`: the request was HEAD (its
    /// response has headers only). Responses are matched to requests in order, so several
    /// requests may be pipelined before their responses arrive.
    pub fn expect(&mut self, head_only: bool) {
        self.pending.push_back(head_only);
    }

    /// Feed received bytes; events go to `on_event`. After an error, returns Err and ignores
    /// further input (the caller closes the connection).
    pub fn decode(
        &mut self,
        input: &[u8],
        mut on_event: impl FnMut(ResponseEvent<'_>),
    ) -> Result<(), ResponseError> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        let result = self.run(input, &mut on_event);
        if let Err(e) = result {
            self.fail(e);
        }
        result
    }

    /// The peer closed the connection: ends a close-delimited body (`End { reusable: false }`),
    /// errors if a response was cut short or never came; Ok if idle.
    pub fn eof(
        &mut self,
        mut on_event: impl FnMut(ResponseEvent<'_>),
    ) -> Result<(), ResponseError> {
        let result = match self.state {
            State::Failed(e) => return Err(e),
            State::Close => {
                on_event(ResponseEvent::End { reusable: false });
                Ok(())
            }
            State::Head if !self.buf.is_empty() => Err(ResponseError::Truncated),
            State::Head | State::Closed => Ok(()),
            State::Length { .. } | State::Chunked { .. } => Err(ResponseError::Truncated),
        };
        let result = match result {
            Ok(()) if !self.pending.is_empty() => Err(ResponseError::ClosedBeforeResponse),
            other => other,
        };
        match result {
            Ok(()) => self.state = State::Closed,
            Err(e) => self.fail(e),
        }
        result
    }

    /// No response outstanding and nothing buffered.
    pub fn idle(&self) -> bool {
        self.pending.is_empty()
            && self.buf.is_empty()
            && matches!(self.state, State::Head | State::Closed)
    }

    /// Free buffers while idle (an idle connection then holds no memory of its own).
    pub fn release(&mut self) {
        if self.idle() {
            self.buf = Vec::new();
            self.pending = VecDeque::new();
        }
    }

    fn fail(&mut self, e: ResponseError) {
        self.state = State::Failed(e);
        self.buf = Vec::new();
    }

    fn run(
        &mut self,
        input: &[u8],
        on_event: &mut impl FnMut(ResponseEvent<'_>),
    ) -> Result<(), ResponseError> {
        let mut rest = input;
        // A unit begun in an earlier read is finished from a copy, and only as much of `input`
        // is copied as that unit can still need (the limits cap every unit), so a body that
        // follows it is not copied.
        while !self.buf.is_empty() && !rest.is_empty() {
            let mut buf = std::mem::take(&mut self.buf);
            let held = buf.len();
            let take = rest.len().min(self.limits.max_head_bytes.saturating_add(4));
            buf.extend_from_slice(&rest[..take]);
            let mut pos = 0;
            while pos < held {
                match self.step(&buf[pos..], on_event)? {
                    Some(n) => pos += n,
                    None => break,
                }
            }
            if pos >= held {
                rest = &rest[pos - held..];
                buf.clear();
            } else {
                buf.drain(..pos);
                rest = &rest[take..];
            }
            self.buf = buf;
        }
        if !self.buf.is_empty() {
            return Ok(());
        }
        let mut pos = 0;
        while let Some(n) = self.step(&rest[pos..], on_event)? {
            pos += n;
        }
        self.buf.extend_from_slice(&rest[pos..]);
        Ok(())
    }

    /// One step on `data` (what is left of the stream): the bytes it consumed (always some), or
    /// `None` when it needs more.
    fn step(
        &mut self,
        data: &[u8],
        on_event: &mut impl FnMut(ResponseEvent<'_>),
    ) -> Result<Option<usize>, ResponseError> {
        let limit = self.limits.max_head_bytes;
        match &mut self.state {
            State::Failed(e) => Err(*e),
            _ if data.is_empty() => Ok(None),
            State::Closed => Err(ResponseError::AfterClose),
            State::Head => {
                let Some(&head_only) = self.pending.front() else {
                    return Err(ResponseError::Unsolicited);
                };
                let Some((n, parsed)) = parse_head(data, &self.limits, head_only)? else {
                    return Ok(None);
                };
                if let Parsed::Final(head, body) = parsed {
                    self.pending.pop_front();
                    on_event(ResponseEvent::Head(head));
                    match body {
                        Body::Empty { reusable } => self.end(reusable, on_event),
                        Body::Length { len, reusable } => {
                            self.state = State::Length {
                                left: len,
                                reusable,
                            };
                        }
                        Body::Chunked { reusable } => {
                            self.state = State::Chunked {
                                chunk: Chunk::Size,
                                reusable,
                            };
                        }
                        Body::Close => self.state = State::Close,
                    }
                }
                Ok(Some(n))
            }
            State::Length { left, reusable } => {
                let take = (*left).min(data.len());
                on_event(ResponseEvent::Data(&data[..take]));
                *left -= take;
                if *left == 0 {
                    let reusable = *reusable;
                    self.end(reusable, on_event);
                }
                Ok(Some(take))
            }
            State::Close => {
                on_event(ResponseEvent::Data(data));
                Ok(Some(data.len()))
            }
            State::Chunked { chunk, reusable } => match *chunk {
                Chunk::Size => {
                    let scan = &data[..data.len().min(limit.saturating_add(2))];
                    let Some(eol) = find_crlf(scan) else {
                        if data.len() > limit {
                            return Err(ResponseError::ChunkLineTooLong);
                        }
                        return Ok(None);
                    };
                    let size = chunk_size(&data[..eol]).ok_or(ResponseError::BadChunkSize)?;
                    *chunk = match size {
                        0 => Chunk::Trailers,
                        size => Chunk::Data(size),
                    };
                    Ok(Some(eol + 2))
                }
                Chunk::Data(size) => {
                    let take = size.min(data.len());
                    on_event(ResponseEvent::Data(&data[..take]));
                    *chunk = match size - take {
                        0 => Chunk::DataEnd,
                        left => Chunk::Data(left),
                    };
                    Ok(Some(take))
                }
                Chunk::DataEnd => match data {
                    [b'\r', b'\n', ..] => {
                        *chunk = Chunk::Size;
                        Ok(Some(2))
                    }
                    [b'\r'] => Ok(None),
                    _ => Err(ResponseError::BadChunkEnd),
                },
                Chunk::Trailers => {
                    // Trailers are read and dropped: the section ends at an empty line.
                    let end = match data.starts_with(b"\r\n") {
                        true => Some(2),
                        false => data[..data.len().min(limit.saturating_add(4))]
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map(|at| at + 4),
                    };
                    let Some(end) = end else {
                        if data.len() > limit {
                            return Err(ResponseError::TrailersTooLarge);
                        }
                        return Ok(None);
                    };
                    let reusable = *reusable;
                    self.end(reusable, on_event);
                    Ok(Some(end))
                }
            },
        }
    }

    fn end(&mut self, reusable: bool, on_event: &mut impl FnMut(ResponseEvent<'_>)) {
        on_event(ResponseEvent::End { reusable });
        self.state = if reusable { State::Head } else { State::Closed };
    }
}

/// How a final response's body is framed (RFC 9112 §6.3).
enum Body {
    Empty { reusable: bool },
    Length { len: usize, reusable: bool },
    Chunked { reusable: bool },
    Close,
}

/// A head that parsed.
enum Parsed {
    /// A 1xx interim response, skipped.
    Interim,
    /// A final response and how its body is framed.
    Final(ResponseHead, Body),
}

/// A complete head at the start of `data`: `None` while incomplete, else its length and what it
/// is.
fn parse_head(
    data: &[u8],
    limits: &ResponseLimits,
    head_only: bool,
) -> Result<Option<(usize, Parsed)>, ResponseError> {
    // httparse's scratch, as for requests: on the stack unless the limit is raised above it.
    let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut on_heap = Vec::new();
    let scratch = if limits.max_headers <= STACK_HEADERS {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut on_heap[..]
    };
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, data, scratch);
    let n = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if data.len() > limits.max_head_bytes => {
            return Err(ResponseError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooManyHeaders),
        Err(_) => return Err(ResponseError::Malformed),
    };
    if n > limits.max_head_bytes {
        return Err(ResponseError::HeadTooLarge);
    }
    let status = resp.code.unwrap_or(0);
    match status {
        0..=99 => return Err(ResponseError::Malformed),
        101 => return Err(ResponseError::SwitchingProtocols),
        100..=199 => return Ok(Some((n, Parsed::Interim))),
        _ => {}
    }
    let version = resp.version.unwrap_or(1);
    let mut head = ResponseHead {
        status,
        text: String::with_capacity(n),
        ends: Vec::with_capacity(resp.headers.len()),
    };
    let (mut close, mut keep_alive) = (false, false);
    let (mut transfer_encoding, mut chunked) = (false, false);
    let mut length: Option<usize> = None;
    for h in resp.headers.iter() {
        let value = String::from_utf8_lossy(h.value.trim_ascii());
        let name = h.name;
        if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            // Only the final coding counts, across every Transfer-Encoding line.
            if let Some(last) = value.split(',').map(str::trim).rfind(|t| !t.is_empty()) {
                chunked = last.eq_ignore_ascii_case("chunked");
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            // RFC 9110 §8.6: a list of identical values is one length.
            for item in value.split(',').map(str::trim) {
                // 1*DIGIT; `parse` alone would also take a `+`.
                let len = Some(item)
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or(ResponseError::InvalidContentLength)?;
                if length.is_some_and(|l| l != len) {
                    return Err(ResponseError::ConflictingContentLength);
                }
                length = Some(len);
            }
        }
        head.text.push_str(name);
        let name_end = head.text.len();
        head.text.push_str(&value);
        let end = |at: usize| u32::try_from(at).map_err(|_| ResponseError::HeadTooLarge);
        head.ends.push((end(name_end)?, end(head.text.len())?));
    }
    let reusable = match version {
        0 => keep_alive && !close,
        _ => !close,
    };
    if transfer_encoding && version == 0 {
        return Err(ResponseError::TransferEncodingInHttp10);
    }
    let body = if head_only || status == 204 || status == 304 {
        Body::Empty { reusable }
    } else if transfer_encoding && chunked {
        // Both framings at once smells of smuggling: use the chunks but do not reuse.
        Body::Chunked {
            reusable: reusable && length.is_none(),
        }
    } else if transfer_encoding {
        Body::Close
    } else {
        match length {
            Some(0) => Body::Empty { reusable },
            Some(len) => Body::Length { len, reusable },
            None => Body::Close,
        }
    };
    Ok(Some((n, Parsed::Final(head, body))))
}

/// Write a request head: `METHOD target HTTP/1.1\r\nHost: host\r\n`, then `headers`, then
/// `Content-Length: n` when `body_len` is `Some`, then the empty line. Allocates nothing beyond
/// the growth of `out`.
pub fn write_request_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body_len: Option<usize>,
) {
    let size = method.len()
        + target.len()
        + host.len()
        + headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
        + 64;
    out.reserve(size);
    for part in [method, " ", target, " HTTP/1.1\r\nHost: ", host, "\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    for &(name, value) in headers {
        for part in [name, ": ", value, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
    }
    if let Some(len) = body_len {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "Content-Length: {len}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
