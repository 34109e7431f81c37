//! Streamable HTTP, blocking: every message is a POST to the MCP endpoint; an answer comes back
//! as JSON or as an SSE stream, which may carry server requests (answered by new POSTs) before
//! the answer. A stream that ends before its answer is resumed the way the server asked: after
//! its `retry:` delay, a GET with `Last-Event-ID`. The transport keeps the `Mcp-Session-Id` the
//! server gives, repeats the last `MCP-Protocol-Version`, asks the [`Authorize`] for headers on
//! every request and hands it each 401/403. MCP rules stay in `ringmcp_proto::client`.

use crate::authorize::{Authorize, Challenge};
use crate::transport::{parse_frame, Transport, TransportError};
use reqwest::blocking::{Client as HttpClient, RequestBuilder, Response};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::framing::sse::SseDecoder;
use ringmcp_proto::streamable_http::{SESSION_HEADER, VERSION_HEADER};
use ringmcp_proto::{Message, RequestId, Response as RpcResponse};
use std::collections::VecDeque;
use std::io::Read;
use std::time::Duration;

/// Longest SSE line kept (a message is one `data:` line).
const MAX_SSE_LINE: usize = 16 << 20;
/// Reconnection delay when a stream never sent `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Resumptions of one stream in a row that bring no event, before giving up.
const MAX_IDLE_RESUMES: u32 = 3;

/// One open SSE answer stream.
struct Stream {
    body: Response,
    decoder: SseDecoder,
    /// The request whose answer this stream owes, if any.
    awaiting: Option<RequestId>,
}

/// A Streamable HTTP connection to one MCP endpoint.
pub struct HttpTransport {
    http: HttpClient,
    url: String,
    session_id: Option<String>,
    version: Option<String>,
    authorizer: Option<Box<dyn Authorize>>,
    queue: VecDeque<Message>,
    streams: Vec<Stream>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .field("session_id", &self.session_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The HTTP client: HTTP/1.1, rustls on the ring provider with the platform's roots, no
/// redirects (a redirected POST would lose its body), no overall timeout (SSE streams are long).
pub fn http_client() -> Result<HttpClient, TransportError> {
    // Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(HttpClient::builder()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(None)
        .build()?)
}

impl HttpTransport {
    /// A transport for the MCP endpoint at `url`.
    pub fn new(url: &str, authorizer: Option<Box<dyn Authorize>>) -> Result<Self, TransportError> {
        Ok(HttpTransport {
            http: http_client()?,
            url: url.to_owned(),
            session_id: None,
            version: None,
            authorizer,
            queue: VecDeque::new(),
            streams: Vec::new(),
        })
    }

    /// The session id the server gave, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Send a request built by `build` (called again for each authorization retry), with the
    /// session, version and authorization headers.
    fn exchange(
        &mut self,
        method: Method,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, TransportError> {
        loop {
            let mut req = build(self.http.request(method.clone(), &self.url));
            if let Some(id) = &self.session_id {
                req = req.header(SESSION_HEADER, id);
            }
            if let Some(auth) = self.authorizer.as_mut() {
                for (name, value) in auth.headers(&method, &self.url)? {
                    req = req.header(name, value);
                }
            }
            let resp = req.send()?;
            let status = resp.status().as_u16();
            if let Some(id) = resp
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                self.session_id = Some(id.to_owned());
            }
            if status != 401 && status != 403 {
                return Ok(resp);
            }
            let Some(auth) = self.authorizer.as_mut() else {
                return Ok(resp);
            };
            let challenge = challenge(status, &self.url, resp.headers());
            tracing::debug!(status, "authorization challenge");
            if !auth.challenge(&challenge)? {
                return Ok(resp);
            }
        }
    }

    /// A non-success answer: a JSON-RPC error body answers the request; anything else is a
    /// status error.
    fn refused(
        &mut self,
        resp: Response,
        awaiting: Option<&RequestId>,
    ) -> Result<(), TransportError> {
        let status = resp.status().as_u16();
        let body = resp.bytes().unwrap_or_default();
        let answers: Vec<Message> = parse_frame(&body)
            .into_iter()
            .map(|m| with_id(m, awaiting))
            .filter(|m| matches!(m, Message::Response(_)))
            .collect();
        if awaiting.is_some() && !answers.is_empty() {
            self.queue.extend(answers);
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
        Err(TransportError::Status { status, body: text })
    }

    /// The next message on the newest open stream, resuming it when it ends early; `None` when
    /// no stream is open.
    fn read_streams(&mut self) -> Result<Option<Message>, TransportError> {
        let mut buf = vec![0u8; 16 << 10];
        let mut idle_resumes = 0;
        while let Some(stream) = self.streams.last_mut() {
            let n = stream.body.read(&mut buf)?;
            if n == 0 {
                let Some(stream) = self.streams.pop() else {
                    break;
                };
                if stream.awaiting.is_none() {
                    continue;
                }
                idle_resumes += 1;
                if idle_resumes > MAX_IDLE_RESUMES {
                    return Err(TransportError::Protocol(
                        "stream resumptions bring nothing".into(),
                    ));
                }
                self.resume(stream)?;
                continue;
            }
            idle_resumes = 0;
            let mut events = Vec::new();
            stream.decoder.decode(&buf[..n], |e| events.push(e));
            for event in events {
                if event.data.trim().is_empty()
                    || event.event.as_deref().is_some_and(|e| e != "message")
                {
                    continue;
                }
                for message in parse_frame(event.data.as_bytes()) {
                    if let (Message::Response(r), Some(awaiting)) = (&message, &stream.awaiting) {
                        if r.id.as_ref() == Some(awaiting) {
                            stream.awaiting = None;
                        }
                    }
                    self.queue.push_back(message);
                }
            }
            // The stream's answer is in: stop reading it rather than wait for the server to close.
            if stream.awaiting.is_none() && !self.queue.is_empty() {
                self.streams.pop();
            }
            if let Some(message) = self.queue.pop_front() {
                return Ok(Some(message));
            }
        }
        Ok(None)
    }

    /// Resume a stream that ended before its answer: wait the server's `retry:` delay, then GET
    /// with `Last-Event-ID`.
    fn resume(&mut self, stream: Stream) -> Result<(), TransportError> {
        let Some(last_id) = stream.decoder.last_event_id().map(str::to_owned) else {
            return Err(TransportError::Protocol(
                "the answer stream ended before the answer and had no event id to resume from"
                    .into(),
            ));
        };
        let delay = stream
            .decoder
            .retry_ms()
            .map_or(DEFAULT_RETRY, Duration::from_millis);
        tracing::debug!(?delay, last_event_id = %last_id, "resuming an answer stream");
        std::thread::sleep(delay);
        let version = self.version.clone();
        let resp = self.exchange(Method::GET, |req| {
            let req = req
                .header(ACCEPT, "text/event-stream")
                .header("last-event-id", &last_id);
            match &version {
                Some(v) => req.header(VERSION_HEADER, v),
                None => req,
            }
        })?;
        if !resp.status().is_success() || !is_sse(resp.headers()) {
            let status = resp.status().as_u16();
            return Err(TransportError::Status {
                status,
                body: "resuming the answer stream with GET failed".into(),
            });
        }
        let mut decoder = SseDecoder::new(MAX_SSE_LINE);
        // The resumed stream keeps the old position until it sends ids of its own.
        decoder.decode(format!("id: {last_id}\n\n").as_bytes(), |_| {});
        if let Some(ms) = stream.decoder.retry_ms() {
            decoder.decode(format!("retry: {ms}\n\n").as_bytes(), |_| {});
        }
        self.streams.push(Stream {
            body: resp,
            decoder,
            awaiting: stream.awaiting,
        });
        Ok(())
    }
}

/// A response with `id: null` to a POST carrying one request answers that request (servers
/// that refuse a request before reading its id write null).
fn with_id(message: Message, awaiting: Option<&RequestId>) -> Message {
    match message {
        Message::Response(RpcResponse { id: None, outcome }) => Message::Response(RpcResponse {
            id: awaiting.cloned(),
            outcome,
        }),
        other => other,
    }
}

fn is_sse(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

fn challenge(status: u16, url: &str, headers: &HeaderMap) -> Challenge {
    Challenge {
        status,
        url: url.to_owned(),
        www_authenticate: headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect(),
        dpop_nonce: headers
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

impl Transport for HttpTransport {
    fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        if let Some((_, v)) = message
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(VERSION_HEADER))
        {
            self.version = Some(v.clone());
        }
        let body = message.body.clone();
        let headers = message.headers.clone();
        let resp = self.exchange(Method::POST, |req| {
            let mut req = req
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json, text/event-stream")
                .body(body.clone());
            for (name, value) in &headers {
                req = req.header(name.as_str(), value.as_str());
            }
            req
        })?;
        let awaiting = message.id.as_ref();
        let status = resp.status();
        if !status.is_success() {
            return self.refused(resp, awaiting);
        }
        if status.as_u16() == 202 || status.as_u16() == 204 {
            return Ok(());
        }
        if is_sse(resp.headers()) {
            self.streams.push(Stream {
                body: resp,
                decoder: SseDecoder::new(MAX_SSE_LINE),
                awaiting: awaiting.cloned(),
            });
            return Ok(());
        }
        let body = resp.bytes()?;
        if !body.iter().all(u8::is_ascii_whitespace) {
            self.queue
                .extend(parse_frame(&body).into_iter().map(|m| with_id(m, awaiting)));
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<Message>, TransportError> {
        if let Some(message) = self.queue.pop_front() {
            return Ok(Some(message));
        }
        self.read_streams()
    }

    fn close(&mut self) -> Result<(), TransportError> {
        self.streams.clear();
        if self.session_id.is_none() {
            return Ok(());
        }
        let version = self.version.clone();
        let resp = self.exchange(Method::DELETE, |req| match &version {
            Some(v) => req.header(VERSION_HEADER, v),
            None => req,
        })?;
        // 405: the server does not let clients end sessions; nothing more to do.
        let status = resp.status().as_u16();
        if !resp.status().is_success() && status != 405 && status != 404 {
            tracing::debug!(status, "DELETE of the session refused");
        }
        self.session_id = None;
        Ok(())
    }
}
