//! The request head: `httparse` reads the request line and headers, and one pass over its
//! headers copies the head once, notes where every name and value lies in the copy, and picks out
//! what framing needs (Host, Connection, Transfer-Encoding, Content-Length, Expect), so that no
//! header is looked up again by name and no header costs an allocation of its own.

use std::mem::MaybeUninit;

use super::{err, Body, Chunk, HttpError, HttpLimits, HttpRequest, Method, Span};

/// Header slots httparse gets on the stack; a larger `max_headers` puts them on the heap.
pub(super) const STACK_HEADERS: usize = 64;

/// The framing headers, by their index in the request's header table (the first of each name).
#[derive(Default)]
struct Framing {
    hosts: usize,
    lengths: usize,
    connection: Option<usize>,
    transfer_encoding: Option<usize>,
    content_length: Option<usize>,
    expect: Option<usize>,
}

/// Parse a complete head at the start of `data`: `None` while it is incomplete, else its length,
/// the request (without body), how its body is framed and whether it expects `100-continue`.
pub(super) fn parse_head(
    data: &[u8],
    limits: &HttpLimits,
) -> Result<Option<(usize, HttpRequest, Body, bool)>, HttpError> {
    // httparse's scratch: on the stack unless the limit is raised above it (a heap block of this
    // size per request showed up in the HTTP profile), and left uninitialised (filling 64 empty
    // headers, 2 KiB, was a quarter of the head's cost).
    let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut on_heap = Vec::new();
    let scratch = if limits.max_headers <= STACK_HEADERS {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut on_heap[..]
    };
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(data, scratch) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if data.len() > limits.max_head_bytes {
                return Err(err(431, "request head too large"));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(err(431, "too many headers")),
        Err(_) => return Err(err(400, "malformed request")),
    };
    // Ranges are `u32`: a head past 4 GiB (a limit raised that far) is refused like any too large.
    if n > limits.max_head_bytes || n > (u32::MAX - 8) as usize {
        return Err(err(431, "request head too large"));
    }
    // httparse has checked the request line and header names (ASCII tokens) and cut the values
    // out: the head is UTF-8 exactly when every header value is, so one check covers them all.
    let mut copy = data[..n].to_vec();
    let base = data.as_ptr() as usize;
    let offset = |part: &[u8]| (part.as_ptr() as usize).saturating_sub(base);
    for h in req.headers.iter() {
        let at = offset(h.name.as_bytes());
        if let Some(name) = copy.get_mut(at..at + h.name.len()) {
            name.make_ascii_lowercase();
        }
    }
    let head = String::from_utf8(copy).map_err(|_| err(400, "header value is not UTF-8"))?;
    let version = req.version.unwrap_or(1);
    let target = req.path.unwrap_or("/");
    let (target_at, target_end) = (
        offset(target.as_bytes()),
        offset(target.as_bytes()) + target.len(),
    );
    let mut target = head.get(target_at..target_end).unwrap_or("/");
    // Absolute form (RFC 9112 3.2.2): the authority in the target replaces Host.
    let mut authority = None;
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .and_then(|_| target.get(scheme.len()..))
        {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            authority = Some(Span::of(&head, &rest[..end]));
            target = &rest[end..];
        }
    }
    // `http://host` names the root.
    let root = authority.is_some() && target.is_empty();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (Span::of(&head, p), Some(Span::of(&head, q))),
        None => (Span::of(&head, target), None),
    };
    let method = match req.method.unwrap_or("") {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let mut headers = Vec::with_capacity(req.headers.len() + usize::from(authority.is_some()));
    let mut framing = Framing::default();
    for h in req.headers.iter() {
        let name_at = offset(h.name.as_bytes());
        // An empty slice need not point into the buffer: place an empty value after its name.
        let value_at = if h.value.is_empty() {
            name_at + h.name.len()
        } else {
            offset(h.value)
        };
        let (Some(name), Some(value)) = (
            head.get(name_at..name_at + h.name.len()),
            head.get(value_at..value_at + h.value.len()),
        ) else {
            continue;
        };
        if authority.is_some() && name == "host" {
            continue;
        }
        let i = headers.len();
        match name {
            "host" => framing.hosts += 1,
            "connection" => _ = framing.connection.get_or_insert(i),
            "transfer-encoding" => _ = framing.transfer_encoding.get_or_insert(i),
            "content-length" => {
                framing.lengths += 1;
                _ = framing.content_length.get_or_insert(i);
            }
            "expect" => _ = framing.expect.get_or_insert(i),
            _ => {}
        }
        headers.push([Span::of(&head, name), Span::of(&head, value.trim())]);
    }
    let mut request = HttpRequest {
        method,
        head,
        path,
        query,
        headers,
        body: Vec::new(),
        keep_alive: true,
    };
    if root {
        let at = request.head.len();
        request.head.push('/');
        request.path = Span(at as u32, at as u32 + 1);
    }
    if let Some(authority) = authority {
        // Rare: the target's authority becomes the one `host`, its name appended to the copy.
        let at = request.head.len();
        request.head.push_str("host");
        request
            .headers
            .push([Span(at as u32, at as u32 + 4), authority]);
        framing.hosts = 1;
    }
    let value = |i: Option<usize>| {
        i.and_then(|i| request.headers.get(i))
            .map(|&[_, v]| request.text(v))
    };
    // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host.
    match framing.hosts {
        0 if version >= 1 => return Err(err(400, "missing Host header")),
        0 | 1 => {}
        _ => return Err(err(400, "more than one Host header")),
    }
    let connection = value(framing.connection);
    let has = |c: &str, token: &str| c.split(',').any(|t| t.trim().eq_ignore_ascii_case(token));
    let keep_alive = match (version, connection) {
        (_, Some(c)) if has(c, "close") => false,
        (0, Some(c)) => has(c, "keep-alive"),
        (0, None) => false,
        _ => true,
    };
    let chunked = match value(framing.transfer_encoding) {
        None => false,
        Some(te) if te.eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(err(501, "unsupported transfer coding")),
    };
    let length = match (framing.lengths, chunked) {
        (0, _) => None,
        (1, false) => Some(
            value(framing.content_length)
                // RFC 9112: 1*DIGIT; `parse` alone would also take a `+`.
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or(err(400, "bad content-length"))?,
        ),
        _ => return Err(err(400, "ambiguous body length")),
    };
    if length.is_some_and(|l| l > limits.max_body_bytes) {
        return Err(err(413, "body too large"));
    }
    let expects = value(framing.expect).is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
    request.keep_alive = keep_alive;
    let body = if chunked {
        Body::Chunked(Chunk::Size)
    } else {
        Body::Length(length.unwrap_or(0))
    };
    Ok(Some((n, request, body, expects)))
}
