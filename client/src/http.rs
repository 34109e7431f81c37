//! Streamable HTTP, blocking: every message is a POST to the MCP endpoint; an answer comes back
//! as JSON or as an SSE stream, which may carry server requests (answered by new POSTs) before
//! the answer. A legacy session also opens the standalone GET stream, where servers send requests
//! not tied to a POST. Each stream is read on its own thread (the `reader` module) into one channel. A
//! stream that ends before its answer is resumed the way the server asked: after its `retry:`
//! delay, a GET with `Last-Event-ID`. The transport keeps the `Mcp-Session-Id` the
//! server gives, repeats the last `MCP-Protocol-Version`, asks the [`Authorize`] for headers on
//! every request and hands it each 401/403. MCP rules stay in `ringmcp_proto::client`.

mod reader;

use crate::authorize::{Authorize, Challenge};
use crate::transport::{parse_frame, Polled, Transport, TransportError};
use reader::{Ended, Incoming};
use reqwest::blocking::{Client as HttpClient, RequestBuilder, Response};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::streamable_http::{is_stateless, SESSION_HEADER, VERSION_HEADER};
use ringmcp_proto::{Message, RequestId, Response as RpcResponse};
use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Reconnection delay when a stream never sent `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Resumptions of one answer in a row that bring no message, before giving up.
const MAX_IDLE_RESUMES: u32 = 3;
/// Reopenings of the standalone stream in a row that bring no message, before giving up.
const MAX_IDLE_REOPENS: u32 = 5;

/// A Streamable HTTP connection to one MCP endpoint.
pub struct HttpTransport {
    http: HttpClient,
    url: String,
    session_id: Option<String>,
    version: Option<String>,
    authorizer: Option<Box<dyn Authorize>>,
    queue: VecDeque<Message>,
    tx: Sender<Incoming>,
    rx: Receiver<Incoming>,
    /// Open streams that still owe an answer.
    owing: usize,
    /// Open streams of any kind.
    open: usize,
    idle_resumes: u32,
    /// Reopenings of the standalone stream in a row that brought no message.
    idle_reopens: u32,
    /// Requests given up on (`notifications/cancelled` sent): their streams are not resumed.
    abandoned: HashSet<RequestId>,
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
        let (tx, rx) = channel();
        Ok(HttpTransport {
            http: http_client()?,
            url: url.to_owned(),
            session_id: None,
            version: None,
            authorizer,
            queue: VecDeque::new(),
            tx,
            rx,
            owing: 0,
            open: 0,
            idle_resumes: 0,
            idle_reopens: 0,
            abandoned: HashSet::new(),
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
        // Only a JSON body can answer; a plain "not found" is no message to warn about.
        let json = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'['));
        let answers: Vec<Message> = if json {
            parse_frame(&body)
                .into_iter()
                .map(|m| with_id(m, awaiting))
                .filter(|m| matches!(m, Message::Response(_)))
                .collect()
        } else {
            Vec::new()
        };
        if awaiting.is_some() && !answers.is_empty() {
            self.queue.extend(answers);
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
        Err(TransportError::Status { status, body: text })
    }

    /// Read a stream on its own thread.
    fn read_stream(
        &mut self,
        body: Response,
        awaiting: Option<RequestId>,
        from: Option<(&str, Option<u64>)>,
    ) {
        if awaiting.is_some() {
            self.owing += 1;
        }
        self.open += 1;
        reader::spawn(body, awaiting, from, self.tx.clone());
    }

    /// A GET on the endpoint for an SSE stream (`Last-Event-ID` when resuming).
    fn get_stream(&mut self, last_event_id: Option<&str>) -> Result<Response, TransportError> {
        let version = self.version.clone();
        self.exchange(Method::GET, |req| {
            let mut req = req.header(ACCEPT, "text/event-stream");
            if let Some(id) = last_event_id {
                req = req.header("last-event-id", id);
            }
            match &version {
                Some(v) => req.header(VERSION_HEADER, v),
                None => req,
            }
        })
    }

    /// Resume a stream that ended before its answer: wait the server's `retry:` delay, then GET
    /// with `Last-Event-ID`.
    fn resume(&mut self, ended: Ended) -> Result<(), TransportError> {
        let Some(last_id) = ended.last_event_id else {
            return Err(TransportError::Protocol(
                "the answer stream ended before the answer and had no event id to resume from"
                    .into(),
            ));
        };
        self.idle_resumes += 1;
        if self.idle_resumes > MAX_IDLE_RESUMES {
            return Err(TransportError::Protocol(
                "stream resumptions bring nothing".into(),
            ));
        }
        let delay = ended.retry_ms.map_or(DEFAULT_RETRY, Duration::from_millis);
        tracing::debug!(?delay, last_event_id = %last_id, "resuming an answer stream");
        std::thread::sleep(delay);
        let resp = self.get_stream(Some(&last_id))?;
        if !resp.status().is_success() || !is_sse(resp.headers()) {
            return Err(TransportError::Status {
                status: resp.status().as_u16(),
                body: "resuming the answer stream with GET failed".into(),
            });
        }
        self.read_stream(resp, ended.awaiting, Some((&last_id, ended.retry_ms)));
        Ok(())
    }

    /// Handle what a stream reader reported; a message to hand over, if any.
    fn incoming(&mut self, incoming: Incoming) -> Result<Option<Message>, TransportError> {
        match incoming {
            Incoming::Message(message) => {
                self.idle_resumes = 0;
                self.idle_reopens = 0;
                Ok(Some(message))
            }
            Incoming::Ended(ended) => {
                self.open = self.open.saturating_sub(1);
                if ended.owed {
                    self.owing = self.owing.saturating_sub(1);
                }
                let abandoned = ended
                    .awaiting
                    .as_ref()
                    .is_some_and(|id| self.abandoned.remove(id));
                if abandoned {
                    return Ok(None);
                }
                if ended.awaiting.is_some() {
                    self.resume(ended)?;
                } else if !ended.owed {
                    self.reopen(ended);
                }
                Ok(None)
            }
        }
    }

    /// The standalone stream ended: reopen it the way the server asked (after its `retry:`,
    /// with `Last-Event-ID`), so that what the server sends meanwhile is not lost. A server that
    /// refuses is left alone: the session just hears nothing unasked any more.
    fn reopen(&mut self, ended: Ended) {
        if self.session_id.is_none() {
            return;
        }
        self.idle_reopens += 1;
        if self.idle_reopens > MAX_IDLE_REOPENS {
            tracing::debug!("the standalone stream keeps ending empty; not reopening it");
            return;
        }
        let delay = ended.retry_ms.map_or(DEFAULT_RETRY, Duration::from_millis);
        tracing::debug!(?delay, last_event_id = ?ended.last_event_id, "reopening the standalone stream");
        std::thread::sleep(delay);
        let last = ended.last_event_id.as_deref();
        match self.get_stream(last) {
            Ok(resp) if resp.status().is_success() && is_sse(resp.headers()) => {
                let from = last.map(|id| (id, ended.retry_ms));
                self.read_stream(resp, None, from);
            }
            Ok(resp) => tracing::debug!(
                status = resp.status().as_u16(),
                "the standalone stream was not reopened"
            ),
            Err(e) => tracing::debug!(error = %e, "the standalone stream was not reopened"),
        }
    }

    /// The server is told a request is given up on: its stream is not resumed when it ends.
    fn abandon(&mut self, message: &Outgoing) {
        if message.method.as_deref() != Some(ringmcp_proto::client::CANCELLED) {
            return;
        }
        let id = serde_json::from_slice::<serde_json::Value>(&message.body)
            .ok()
            .and_then(|v| RequestId::from_value(&v["params"]["requestId"]));
        if let Some(id) = id {
            self.abandoned.insert(id);
        }
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
        self.send_within(message, None)
    }

    fn send_within(
        &mut self,
        message: &Outgoing,
        limit: Option<Duration>,
    ) -> Result<(), TransportError> {
        self.abandon(message);
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
            // A call with a deadline: the whole exchange, answer stream included, must end by it.
            if let Some(limit) = limit {
                req = req.timeout(limit);
            }
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
            self.read_stream(resp, awaiting.cloned(), None);
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
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Ok(Some(message));
            }
            // Take what the readers already sent; block only while some stream owes an answer.
            let incoming = match self.rx.try_recv() {
                Ok(incoming) => incoming,
                Err(_) if self.owing == 0 => return Ok(None),
                Err(_) => match self.rx.recv() {
                    Ok(incoming) => incoming,
                    Err(_) => return Ok(None),
                },
            };
            if let Some(message) = self.incoming(incoming)? {
                return Ok(Some(message));
            }
        }
    }

    fn recv_timeout(&mut self, wait: Duration) -> Result<Polled, TransportError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Ok(Polled::Message(message));
            }
            if self.open == 0 {
                return Ok(Polled::Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let incoming = match self.rx.recv_timeout(left) {
                Ok(incoming) => incoming,
                Err(RecvTimeoutError::Timeout) => return Ok(Polled::Quiet),
                Err(RecvTimeoutError::Disconnected) => return Ok(Polled::Closed),
            };
            if let Some(message) = self.incoming(incoming)? {
                return Ok(Polled::Message(message));
            }
        }
    }

    fn answer_possible(&self) -> bool {
        self.owing > 0 || !self.queue.is_empty()
    }

    fn ready(&mut self) -> Result<(), TransportError> {
        // A legacy session's standalone stream carries the server's requests that no POST
        // carries (elicitation from a tool, for one). Stateless servers have none.
        if self.session_id.is_none() || self.version.as_deref().is_some_and(is_stateless) {
            return Ok(());
        }
        let resp = self.get_stream(None)?;
        if resp.status().is_success() && is_sse(resp.headers()) {
            self.read_stream(resp, None, None);
        } else {
            tracing::debug!(status = resp.status().as_u16(), "no standalone SSE stream");
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), TransportError> {
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
