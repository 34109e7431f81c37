//! HTTP/1.1 request framing, sans-IO: bytes in, whole requests out (head parsed by `httparse`,
//! bodies by Content-Length or chunked transfer coding), plus the response head and chunk writers.
//!
//! Limits are enforced while bytes arrive, so a peer cannot make the codec hold more than the head
//! limit plus the body limit: too many or too large headers give 431, a body over the limit 413,
//! anything unparseable 400. After an error the codec ignores further input; the caller answers
//! with the status and closes the connection.
//!
//! The client's direction (response decoding, request head writing) lives in `response`, which
//! reuses this module's chunk-size and CRLF helpers.

use std::fmt::Write as _;

mod head;
mod response;

use head::parse_head;
pub use response::{
    write_request_head, ResponseDecoder, ResponseError, ResponseEvent, ResponseHead, ResponseLimits,
};

/// Size limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Header lines at most.
    pub max_headers: usize,
    /// Bytes of request line plus headers at most.
    pub max_head_bytes: usize,
    /// Bytes of body at most (after chunked decoding).
    pub max_body_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_headers: 64,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 4 << 20,
        }
    }
}

/// Request methods the server distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// Anything else.
    Other,
}

/// One complete request.
///
/// Its head is kept as one copy of the bytes that came in (header names lower-cased in place),
/// with the path, query and every header as ranges into it: a request costs one allocation for
/// its head and one for the table of header ranges, however many headers it has.
#[derive(Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// The request head as received (names lower-cased), plus a synthesised `host` header at
    /// the end when the target was in absolute form.
    head: String,
    /// Where the path (without the query string) lies in `head`.
    path: Span,
    /// Where the query string (without `?`) lies in `head`.
    query: Option<Span>,
    /// Per header, in arrival order: its name and its value (trimmed) in `head`.
    headers: Vec<[Span; 2]>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
}

/// A byte range of a request's head; `u32` halves the header table (the head parser refuses a
/// head past 4 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span(u32, u32);

impl Span {
    fn of(text: &str, part: &str) -> Span {
        let at = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        Span(at as u32, (at + part.len()) as u32)
    }
}

impl HttpRequest {
    fn text(&self, span: Span) -> &str {
        self.head
            .get(span.0 as usize..span.1 as usize)
            .unwrap_or_default()
    }

    /// Path without the query string.
    pub fn path(&self) -> &str {
        self.text(self.path)
    }

    /// Query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|q| self.text(q))
    }

    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// How many headers carry this (lower-case) name.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers().filter(|(n, _)| *n == name).count()
    }

    /// Every header as (lower-case name, value), in arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|&[name, value]| (self.text(name), self.text(value)))
    }

    /// A query parameter's raw value.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
    }
}

// What a request says, not how its head was spaced: two requests are equal when their method,
// target, headers, body and keep-alive are.
impl PartialEq for HttpRequest {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.path() == other.path()
            && self.query() == other.query()
            && self.headers().eq(other.headers())
            && self.body == other.body
            && self.keep_alive == other.keep_alive
    }
}

impl Eq for HttpRequest {}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("query", &self.query())
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("body", &self.body)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

/// A request the codec refused; the connection must be closed after answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    /// Status to answer with (400, 413, 431, 501, 505).
    pub status: u16,
    /// Why.
    pub detail: &'static str,
}

/// What decoding produced.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpEvent {
    /// A complete request.
    Request(HttpRequest),
    /// The client sent `Expect: 100-continue` and waits for a go-ahead before its body.
    Continue,
    /// A bad request; nothing more will be decoded.
    Error(HttpError),
}

#[derive(Debug)]
enum Body {
    Length(usize),
    Chunked(Chunk),
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailers,
}

#[derive(Debug)]
enum State {
    Head,
    Body(HttpRequest, Body),
    Failed,
}

/// Incremental request decoder for one connection.
#[derive(Debug)]
pub struct HttpCodec {
    buf: Vec<u8>,
    state: State,
    limits: HttpLimits,
}

fn err(status: u16, detail: &'static str) -> HttpError {
    HttpError { status, detail }
}

impl HttpCodec {
    /// A codec enforcing `limits`.
    pub fn new(limits: HttpLimits) -> Self {
        HttpCodec {
            buf: Vec::new(),
            state: State::Head,
            limits,
        }
    }

    /// Bytes held between calls.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Give back the buffer kept between requests, unless bytes are waiting in it (an idle
    /// connection then holds no buffer of its own).
    pub fn release(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// A request has started arriving but is not complete (part of its head, or its body, is
    /// still missing).
    pub fn mid_request(&self) -> bool {
        matches!(self.state, State::Body(..))
            || (matches!(self.state, State::Head) && !self.buf.is_empty())
    }

    /// Feed bytes; `on_event` gets every complete request, in order.
    pub fn decode(&mut self, input: &[u8], on_event: impl FnMut(HttpEvent)) {
        self.decode_up_to(input, usize::MAX, on_event);
    }

    /// Feed bytes (possibly none), handing `on_event` at most `requests` complete requests; what
    /// follows them stays buffered for a later call. Returns whether it stopped at that bound
    /// (more may be waiting in the buffer): a connection whose queue of pipelined requests is full
    /// takes no more of them until it has room, and is not read meanwhile.
    pub fn decode_up_to(
        &mut self,
        input: &[u8],
        requests: usize,
        mut on_event: impl FnMut(HttpEvent),
    ) -> bool {
        if matches!(self.state, State::Failed) {
            return false;
        }
        // With nothing held from before, requests are read straight from `input` and only what
        // is left over is copied: a read that holds whole requests (the usual case) copies none.
        let direct = self.buf.is_empty();
        if !direct {
            self.buf.extend_from_slice(input);
        }
        let held = std::mem::take(&mut self.buf);
        let data: &[u8] = if direct { input } else { &held };
        let mut pos = 0;
        let mut full = false;
        let mut stepped = 0usize;
        loop {
            if stepped >= requests {
                full = pos < data.len();
                break;
            }
            match step(&mut self.state, &self.limits, data, &mut pos, &mut on_event) {
                Ok(Step::Request) => stepped += 1,
                Ok(Step::More) => continue,
                Ok(Step::Wait) => break,
                Err(e) => {
                    self.state = State::Failed;
                    on_event(HttpEvent::Error(e));
                    return false;
                }
            }
        }
        let mut held = held;
        if direct {
            held.extend_from_slice(input.get(pos..).unwrap_or_default());
        } else {
            held.drain(..pos);
        }
        self.buf = held;
        if self.buf.is_empty() && self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
        full
    }
}

/// What one parsing step did.
enum Step {
    /// Handed out a complete request.
    Request,
    /// Made progress short of a request.
    More,
    /// Needs more bytes.
    Wait,
}

/// One parsing step on `data` from `pos`.
fn step(
    state: &mut State,
    limits: &HttpLimits,
    all: &[u8],
    pos: &mut usize,
    on_event: &mut impl FnMut(HttpEvent),
) -> Result<Step, HttpError> {
    let data = all.get(*pos..).unwrap_or_default();
    match state {
        State::Failed => Ok(Step::Wait),
        State::Head => {
            if data.is_empty() {
                return Ok(Step::Wait);
            }
            let Some((n, request, body, expects)) = parse_head(data, limits)? else {
                return Ok(Step::Wait);
            };
            *pos += n;
            let waiting = match body {
                Body::Length(l) => data.len() - n < l,
                Body::Chunked(_) => true,
            };
            if expects && waiting {
                on_event(HttpEvent::Continue);
            }
            *state = State::Body(request, body);
            Ok(Step::More)
        }
        State::Body(_, Body::Length(len)) => {
            let len = *len;
            if data.len() < len {
                return Ok(Step::Wait);
            }
            let body = data[..len].to_vec();
            *pos += len;
            finish(state, body, on_event);
            Ok(Step::Request)
        }
        State::Body(request, Body::Chunked(chunk)) => match *chunk {
            Chunk::Size => {
                let Some(eol) = find_crlf(data) else {
                    return if data.len() > 1024 {
                        Err(err(400, "bad chunk size line"))
                    } else {
                        Ok(Step::Wait)
                    };
                };
                let size = chunk_size(&data[..eol]).ok_or(err(400, "bad chunk size"))?;
                if request.body.len().saturating_add(size) > limits.max_body_bytes {
                    return Err(err(413, "body too large"));
                }
                *pos += eol + 2;
                *chunk = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
                Ok(Step::More)
            }
            Chunk::Data(size) => {
                if data.is_empty() {
                    return Ok(Step::Wait);
                }
                let take = size.min(data.len());
                request.body.extend_from_slice(&data[..take]);
                *pos += take;
                *chunk = if take == size {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(size - take)
                };
                Ok(Step::More)
            }
            Chunk::DataEnd => {
                if data.len() < 2 {
                    return Ok(Step::Wait);
                }
                if &data[..2] != b"\r\n" {
                    return Err(err(400, "chunk not followed by CRLF"));
                }
                *pos += 2;
                *chunk = Chunk::Size;
                Ok(Step::More)
            }
            Chunk::Trailers => {
                let Some(eol) = find_crlf(data) else {
                    return if data.len() > limits.max_head_bytes {
                        Err(err(431, "trailers too large"))
                    } else {
                        Ok(Step::Wait)
                    };
                };
                *pos += eol + 2;
                if eol == 0 {
                    let body = std::mem::take(&mut request.body);
                    finish(state, body, on_event);
                    return Ok(Step::Request);
                }
                Ok(Step::More)
            }
        },
    }
}

fn finish(state: &mut State, body: Vec<u8>, on_event: &mut impl FnMut(HttpEvent)) {
    if let State::Body(mut request, _) = std::mem::replace(state, State::Head) {
        request.body = body;
        on_event(HttpEvent::Request(request));
    }
}

fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
}

/// The size a chunk-size line (without its CRLF) announces; chunk extensions are ignored.
fn chunk_size(line: &[u8]) -> Option<usize> {
    let hex = line.split(|&b| b == b';').next()?.trim_ascii();
    // RFC 9112: 1*HEXDIG; `from_str_radix` alone would also take a sign.
    if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    usize::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// The reason phrase for the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Append a response head. `body_len: None` means chunked transfer coding (streams).
pub fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body_len: Option<usize>,
    keep_alive: bool,
) {
    let mut head = String::with_capacity(128);
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    match body_len {
        Some(len) => {
            let _ = write!(head, "Content-Length: {len}\r\n");
        }
        None => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// Append one chunk of a chunked body (empty data writes nothing: use [`write_last_chunk`]).
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let _ = write!(HexLen(out), "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// End a chunked body.
pub fn write_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

struct HexLen<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexLen<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
