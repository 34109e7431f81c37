//! The 2024-11-05 HTTP+SSE transport, blocking: a GET on the server's URL opens the one SSE
//! stream of the session, whose first event (`endpoint`) names the URL to POST messages to;
//! every answer, server request and notification then comes on that stream, read on a thread of
//! its own into a channel. This is what `Era::Auto` falls back to when a Streamable HTTP POST is
//! refused with 400, 404 or 405 (the 2025-03-26 revision's backwards-compatibility rule). It owns
//! the stream and the POSTs; MCP rules stay in `ringmcp_proto::client`.

use crate::authorize::Authorize;
use crate::http::http_client;
use crate::transport::{parse_frame, Polled, Transport, TransportError};
use reqwest::blocking::{Client as HttpClient, RequestBuilder, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::framing::sse::SseDecoder;
use ringmcp_proto::Message;
use std::io::Read;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How long the server has to name its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);
/// Longest SSE line kept.
const MAX_SSE_LINE: usize = 16 << 20;

/// What the stream's reader reports.
enum Event {
    Endpoint(String),
    Message(Message),
    Ended,
}

/// A 2024-11-05 HTTP+SSE session.
pub struct SseTransport {
    http: HttpClient,
    endpoint: String,
    authorizer: Option<Box<dyn Authorize>>,
    rx: Receiver<Event>,
    ended: bool,
}

impl std::fmt::Debug for SseTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseTransport")
            .field("endpoint", &self.endpoint)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl SseTransport {
    /// Open the SSE stream at `url` and wait for the endpoint it names.
    pub fn connect(
        url: &str,
        authorizer: Option<Box<dyn Authorize>>,
    ) -> Result<Self, TransportError> {
        let http = http_client()?;
        let base = url::Url::parse(url)
            .map_err(|e| TransportError::Protocol(format!("bad URL {url}: {e}")))?;
        let mut transport = SseTransport {
            http,
            endpoint: String::new(),
            authorizer,
            rx: channel().1,
            ended: false,
        };
        let resp = transport
            .authorized(Method::GET, url, |r| r.header(ACCEPT, "text/event-stream"))?
            .send()?;
        let status = resp.status().as_u16();
        let sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        if !resp.status().is_success() || !sse {
            return Err(TransportError::Status {
                status,
                body: "the GET for the HTTP+SSE stream was refused".into(),
            });
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || pump(resp, &tx));
        transport.rx = rx;
        let endpoint = match transport.rx.recv_timeout(ENDPOINT_WAIT) {
            Ok(Event::Endpoint(endpoint)) => endpoint,
            _ => {
                return Err(TransportError::Protocol(
                    "the SSE stream did not start with an endpoint event".into(),
                ))
            }
        };
        // The endpoint may be relative to the stream's URL; it must stay on the same origin.
        let endpoint = base
            .join(endpoint.trim())
            .map_err(|e| TransportError::Protocol(format!("bad endpoint {endpoint}: {e}")))?;
        if endpoint.origin() != base.origin() {
            return Err(TransportError::Protocol(format!(
                "the endpoint {endpoint} is on another origin than {url}"
            )));
        }
        tracing::debug!(%endpoint, "HTTP+SSE session open");
        transport.endpoint = endpoint.into();
        Ok(transport)
    }

    /// A request with the authorizer's headers (this legacy transport does not answer
    /// challenges: a server that wants a token names it on Streamable HTTP).
    fn authorized(
        &mut self,
        method: Method,
        url: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<RequestBuilder, TransportError> {
        let mut req = build(self.http.request(method.clone(), url));
        if let Some(auth) = self.authorizer.as_mut() {
            for (name, value) in auth.headers(&method, url)? {
                req = req.header(name, value);
            }
        }
        Ok(req)
    }

    fn received(&mut self, event: Event) -> Polled {
        match event {
            Event::Message(message) => Polled::Message(message),
            Event::Endpoint(endpoint) => {
                tracing::debug!(endpoint, "ignoring a second endpoint event");
                Polled::Quiet
            }
            Event::Ended => {
                self.ended = true;
                Polled::Closed
            }
        }
    }
}

/// Read the stream until it ends: the endpoint, then JSON-RPC messages.
fn pump(mut body: Response, tx: &Sender<Event>) {
    let mut decoder = SseDecoder::new(MAX_SSE_LINE);
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "HTTP+SSE stream failed");
                0
            }
        };
        if n == 0 {
            break;
        }
        let mut events = Vec::new();
        decoder.decode(&buf[..n], |e| events.push(e));
        for event in events {
            let sent = match event.event.as_deref() {
                Some("endpoint") => tx.send(Event::Endpoint(event.data)).is_ok(),
                None | Some("message") if !event.data.trim().is_empty() => {
                    parse_frame(event.data.as_bytes())
                        .into_iter()
                        .all(|m| tx.send(Event::Message(m)).is_ok())
                }
                _ => true,
            };
            if !sent {
                return;
            }
        }
    }
    let _ = tx.send(Event::Ended);
}

impl Transport for SseTransport {
    fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        let endpoint = self.endpoint.clone();
        let body = message.body.clone();
        let resp = self
            .authorized(Method::POST, &endpoint, |r| {
                r.header(CONTENT_TYPE, "application/json").body(body)
            })?
            .send()?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = resp.text().unwrap_or_default();
            return Err(TransportError::Status {
                status,
                body: body.chars().take(512).collect(),
            });
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<Message>, TransportError> {
        while !self.ended {
            let event = self.rx.recv().unwrap_or(Event::Ended);
            if let Polled::Message(message) = self.received(event) {
                return Ok(Some(message));
            }
        }
        Ok(None)
    }

    fn recv_timeout(&mut self, wait: Duration) -> Result<Polled, TransportError> {
        if self.ended {
            return Ok(Polled::Closed);
        }
        Ok(match self.rx.recv_timeout(wait) {
            Ok(event) => self.received(event),
            Err(RecvTimeoutError::Timeout) => Polled::Quiet,
            Err(RecvTimeoutError::Disconnected) => self.received(Event::Ended),
        })
    }

    fn answer_possible(&self) -> bool {
        !self.ended
    }

    fn close(&mut self) -> Result<(), TransportError> {
        // The session ends with its stream; the reader lets go of it when the server closes it.
        self.ended = true;
        Ok(())
    }
}
