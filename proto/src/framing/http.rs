//! HTTP/1.1 request framing, sans-IO: bytes in, whole requests out (head parsed by `httparse`,
//! bodies by Content-Length or chunked transfer coding), plus the response head and chunk writers.
//!
//! Limits are enforced while bytes arrive, so a peer cannot make the codec hold more than the head
//! limit plus the body limit: too many or too large headers give 431, a body over the limit 413,
//! anything unparseable 400. After an error the codec ignores further input; the caller answers
//! with the status and closes the connection.

use std::fmt::Write as _;

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

/// Header slots httparse gets on the stack; a larger `max_headers` puts them on the heap.
const STACK_HEADERS: usize = 64;

/// One complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Path without the query string.
    pub path: String,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// Headers, in arrival order: every name (lower-cased) and value in one string, so that a
    /// request costs two allocations for its headers however many it has.
    headers: Headers,
    /// Body (de-chunked).
    pub body: Vec<u8>,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
}

/// Header names and values stored back to back in `text`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Headers {
    text: String,
    /// Per header: where its name starts, where its value starts, where its value ends.
    spans: Vec<[u32; 3]>,
}

impl Headers {
    fn push(&mut self, name: &str, value: &str) {
        let at = self.text.len();
        self.text.push_str(name);
        self.text[at..].make_ascii_lowercase();
        let (at, value_at) = (at as u32, self.text.len() as u32);
        self.text.push_str(value);
        self.spans.push([at, value_at, self.text.len() as u32]);
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans.iter().map(|&[n, v, end]| {
            (
                &self.text[n as usize..v as usize],
                &self.text[v as usize..end as usize],
            )
        })
    }

    fn remove(&mut self, name: &str) {
        let text = &self.text;
        self.spans
            .retain(|&[n, v, _]| &text[n as usize..v as usize] != name);
    }
}

impl HttpRequest {
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
        self.headers.iter()
    }

    /// A query parameter's raw value.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
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
        self.buf.extend_from_slice(input);
        let mut pos = 0;
        let taken = std::cell::Cell::new(0usize);
        let mut on_event = |e: HttpEvent| {
            taken.set(taken.get() + usize::from(matches!(e, HttpEvent::Request(_))));
            on_event(e)
        };
        let mut full = false;
        loop {
            if taken.get() >= requests {
                full = pos < self.buf.len();
                break;
            }
            match self.step(&mut pos, &mut on_event) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    self.state = State::Failed;
                    self.buf = Vec::new();
                    on_event(HttpEvent::Error(e));
                    return false;
                }
            }
        }
        self.buf.drain(..pos);
        if self.buf.is_empty() && self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
        full
    }

    /// One parsing step from `pos`; Ok(true) when progress was made.
    fn step(
        &mut self,
        pos: &mut usize,
        on_event: &mut impl FnMut(HttpEvent),
    ) -> Result<bool, HttpError> {
        let data = &self.buf[*pos..];
        match &mut self.state {
            State::Failed => Ok(false),
            State::Head => {
                if data.is_empty() {
                    return Ok(false);
                }
                // httparse's scratch: on the stack unless the limit is raised above it (a heap
                // block of this size per request showed up in the HTTP profile).
                let mut on_stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
                let mut on_heap = Vec::new();
                let scratch = if self.limits.max_headers <= STACK_HEADERS {
                    &mut on_stack[..self.limits.max_headers]
                } else {
                    on_heap.resize(self.limits.max_headers, httparse::EMPTY_HEADER);
                    &mut on_heap[..]
                };
                let mut req = httparse::Request::new(scratch);
                let n = match req.parse(data) {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) => {
                        if data.len() > self.limits.max_head_bytes {
                            return Err(err(431, "request head too large"));
                        }
                        return Ok(false);
                    }
                    Err(httparse::Error::TooManyHeaders) => {
                        return Err(err(431, "too many headers"))
                    }
                    Err(_) => return Err(err(400, "malformed request")),
                };
                if n > self.limits.max_head_bytes {
                    return Err(err(431, "request head too large"));
                }
                let version = req.version.unwrap_or(1);
                let mut target = req.path.unwrap_or("/");
                // Absolute form (RFC 9112 3.2.2): the authority in the target replaces Host.
                let mut authority = None;
                for scheme in ["http://", "https://"] {
                    if let Some(rest) = target
                        .get(..scheme.len())
                        .filter(|p| p.eq_ignore_ascii_case(scheme))
                        .and_then(|_| target.get(scheme.len()..))
                    {
                        let end = rest.find(['/', '?']).unwrap_or(rest.len());
                        authority = Some(rest[..end].to_owned());
                        target = &rest[end..];
                        if target.is_empty() {
                            target = "/";
                        }
                    }
                }
                let (path, query) = match target.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (target.to_owned(), None),
                };
                let method = match req.method.unwrap_or("") {
                    "GET" => Method::Get,
                    "POST" => Method::Post,
                    "DELETE" => Method::Delete,
                    "OPTIONS" => Method::Options,
                    "HEAD" => Method::Head,
                    _ => Method::Other,
                };
                let mut parsed = Headers {
                    text: String::with_capacity(n),
                    spans: Vec::with_capacity(req.headers.len()),
                };
                for h in req.headers.iter() {
                    let value = std::str::from_utf8(h.value)
                        .map_err(|_| err(400, "header value is not UTF-8"))?;
                    parsed.push(h.name, value.trim());
                }
                let mut request = HttpRequest {
                    method,
                    path,
                    query,
                    headers: parsed,
                    body: Vec::new(),
                    keep_alive: true,
                };
                if let Some(authority) = authority {
                    request.headers.remove("host");
                    request.headers.push("host", &authority);
                }
                // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host.
                match request.header_count("host") {
                    0 if version >= 1 => return Err(err(400, "missing Host header")),
                    0 | 1 => {}
                    _ => return Err(err(400, "more than one Host header")),
                }
                let connection = request.header("connection").map(str::to_ascii_lowercase);
                request.keep_alive = match (version, connection.as_deref()) {
                    (_, Some(c)) if c.split(',').any(|t| t.trim() == "close") => false,
                    (0, Some(c)) => c.split(',').any(|t| t.trim() == "keep-alive"),
                    (0, None) => false,
                    _ => true,
                };
                let chunked = match request.header("transfer-encoding") {
                    None => false,
                    Some(te) if te.eq_ignore_ascii_case("chunked") => true,
                    Some(_) => return Err(err(501, "unsupported transfer coding")),
                };
                let length = match (request.header_count("content-length"), chunked) {
                    (0, _) => None,
                    (1, false) => Some(
                        request
                            .header("content-length")
                            // RFC 9112: 1*DIGIT; `parse` alone would also take a `+`.
                            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                            .and_then(|v| v.parse::<usize>().ok())
                            .ok_or(err(400, "bad content-length"))?,
                    ),
                    _ => return Err(err(400, "ambiguous body length")),
                };
                if length.is_some_and(|l| l > self.limits.max_body_bytes) {
                    return Err(err(413, "body too large"));
                }
                *pos += n;
                let expects = request
                    .header("expect")
                    .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
                let body = if chunked {
                    Body::Chunked(Chunk::Size)
                } else {
                    Body::Length(length.unwrap_or(0))
                };
                let waiting = match body {
                    Body::Length(l) => self.buf.len() - *pos < l,
                    Body::Chunked(_) => true,
                };
                if expects && waiting {
                    on_event(HttpEvent::Continue);
                }
                self.state = State::Body(request, body);
                Ok(true)
            }
            State::Body(_, Body::Length(len)) => {
                let len = *len;
                if data.len() < len {
                    return Ok(false);
                }
                let body = data[..len].to_vec();
                *pos += len;
                self.finish(body, on_event);
                Ok(true)
            }
            State::Body(request, Body::Chunked(chunk)) => match *chunk {
                Chunk::Size => {
                    let Some(eol) = find_crlf(data) else {
                        return if data.len() > 1024 {
                            Err(err(400, "bad chunk size line"))
                        } else {
                            Ok(false)
                        };
                    };
                    let line = std::str::from_utf8(&data[..eol])
                        .map_err(|_| err(400, "bad chunk size"))?;
                    let hex = line.split(';').next().unwrap_or("").trim();
                    // RFC 9112: 1*HEXDIG; `from_str_radix` alone would also take a sign.
                    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(err(400, "bad chunk size"));
                    }
                    let size =
                        usize::from_str_radix(hex, 16).map_err(|_| err(400, "bad chunk size"))?;
                    if request.body.len().saturating_add(size) > self.limits.max_body_bytes {
                        return Err(err(413, "body too large"));
                    }
                    *pos += eol + 2;
                    *chunk = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                    Ok(true)
                }
                Chunk::Data(size) => {
                    if data.is_empty() {
                        return Ok(false);
                    }
                    let take = size.min(data.len());
                    request.body.extend_from_slice(&data[..take]);
                    *pos += take;
                    *chunk = if take == size {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(size - take)
                    };
                    Ok(true)
                }
                Chunk::DataEnd => {
                    if data.len() < 2 {
                        return Ok(false);
                    }
                    if &data[..2] != b"\r\n" {
                        return Err(err(400, "chunk not followed by CRLF"));
                    }
                    *pos += 2;
                    *chunk = Chunk::Size;
                    Ok(true)
                }
                Chunk::Trailers => {
                    let Some(eol) = find_crlf(data) else {
                        return if data.len() > self.limits.max_head_bytes {
                            Err(err(431, "trailers too large"))
                        } else {
                            Ok(false)
                        };
                    };
                    *pos += eol + 2;
                    if eol == 0 {
                        let body = std::mem::take(&mut request.body);
                        self.finish(body, on_event);
                    }
                    Ok(true)
                }
            },
        }
    }

    fn finish(&mut self, body: Vec<u8>, on_event: &mut impl FnMut(HttpEvent)) {
        if let State::Body(mut request, _) = std::mem::replace(&mut self.state, State::Head) {
            request.body = body;
            on_event(HttpEvent::Request(request));
        }
    }
}

fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
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
