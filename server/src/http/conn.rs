//! [`HttpConn`]: the HTTP side of one connection: the PROXY protocol header when the listener
//! expects one (who the client is), the request codec, pipelined requests waiting their turn, and
//! the exchange being answered. Responses leave in request order because the next request starts
//! only when the current exchange is done. A client pipelining deeper than the queue is not
//! refused: the rest of its requests stay undecoded bytes and the connection is not read until
//! the queue has room (the net ring pauses its input). As the net ring's [`Protocol`] it also decides its own
//! request and idle timeouts.

use super::exchange::Pending;
use super::router::HttpService;
use crate::netring::{Outbox, Protocol, SweepClock, Swept};
use ringmcp_proto::framing::http::{self, HttpCodec, HttpEvent, HttpRequest};
use ringmcp_proto::proxy;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;

/// Why a connection expected to start with a PROXY header is closed unanswered.
#[derive(Debug, thiserror::Error)]
enum ProxyRefusal {
    /// Only a trusted proxy may name the client.
    #[error("PROXY protocol expected from a trusted proxy; the peer is not one")]
    Untrusted,
    /// No header, or a malformed one.
    #[error(transparent)]
    Header(#[from] proxy::ProxyError),
}

/// Per-connection HTTP state.
pub(crate) struct HttpConn {
    codec: HttpCodec,
    queue: VecDeque<HttpRequest>,
    active: Option<Rc<dyn Pending>>,
    /// Close once everything queued is sent (bad request, `Connection: close`).
    close_after: bool,
    /// Requests waiting at most (pipelining bound).
    max_queued: usize,
    /// The codec holds bytes past a full queue: requests are taken from them as the queue makes
    /// room, and the connection is not read meanwhile.
    held: bool,
    /// Since when an incomplete request has been arriving.
    partial_since: Option<std::time::Instant>,
    /// The connection's client: its peer, or the source its PROXY header named. Requests start
    /// from it (rate limiting, logs); `X-Forwarded-For` may name another, per request.
    peer: Option<IpAddr>,
    /// The PROXY header still expected (`--proxy-protocol`), with its bytes so far.
    proxy_header: Option<Vec<u8>>,
}

impl HttpConn {
    /// A connection from `peer` to `service`'s listener.
    pub(crate) fn new(service: &HttpService, peer: Option<IpAddr>) -> Self {
        HttpConn {
            codec: HttpCodec::new(service.limits()),
            queue: VecDeque::new(),
            active: None,
            close_after: false,
            max_queued: service.config.pipeline_depth.max(1),
            held: false,
            partial_since: None,
            peer,
            proxy_header: service.config.proxy_protocol.then(Vec::new),
        }
    }

    /// Feed received bytes.
    pub(crate) fn on_bytes(&mut self, data: &[u8], service: &Rc<HttpService>, outbox: &Rc<Outbox>) {
        if self.close_after {
            return;
        }
        let Some(mut pending) = self.proxy_header.take() else {
            return self.decode(data, service, outbox);
        };
        // Most headers arrive whole in the first segment: parse it where it lies.
        let fresh = pending.is_empty();
        let buf: &[u8] = if fresh {
            data
        } else {
            pending.extend_from_slice(data);
            &pending
        };
        match self.take_proxy_header(buf, service) {
            Ok(Some(len)) => {
                self.partial_since = None;
                self.decode(&buf[len..], service, outbox);
            }
            Ok(None) => {
                if fresh {
                    pending.extend_from_slice(data);
                }
                self.proxy_header = Some(pending);
                self.partial_since
                    .get_or_insert_with(std::time::Instant::now);
            }
            Err(reason) => {
                tracing::debug!(peer = ?self.peer, %reason, "connection refused");
                self.close_after = true;
                // Nothing is answered; an empty write is what hands the connection to the driver,
                // which then sees `close_after_send` and closes it.
                outbox.send_raw(|_| {});
            }
        }
    }

    /// Read the PROXY header at the start of `buf`: its length once it is whole (the client's
    /// address is then its source), `None` while more bytes are needed, or why the connection is
    /// refused.
    fn take_proxy_header(
        &mut self,
        buf: &[u8],
        service: &HttpService,
    ) -> Result<Option<usize>, ProxyRefusal> {
        if !self
            .peer
            .is_some_and(|ip| service.config.trusted_proxies.contains(ip))
        {
            return Err(ProxyRefusal::Untrusted);
        }
        let Some((header, len)) = proxy::parse(buf)? else {
            return Ok(None);
        };
        // A LOCAL header (the proxy's own health check) leaves the proxy as the client.
        if let Some(source) = header.source() {
            self.peer = Some(source.ip());
        }
        Ok(Some(len))
    }

    /// Cut received bytes into requests and start them.
    fn decode(&mut self, data: &[u8], service: &Rc<HttpService>, outbox: &Rc<Outbox>) {
        self.take(data, outbox);
        self.pump(service, outbox);
    }

    /// Queue the requests in `data` and in what the codec holds, as many as the queue has room
    /// for; the rest stays in the codec.
    fn take(&mut self, data: &[u8], outbox: &Rc<Outbox>) {
        let mut events = Vec::new();
        let room = self.max_queued.saturating_sub(self.queue.len());
        self.held = self.codec.decode_up_to(data, room, |e| events.push(e));
        self.partial_since = match (self.codec.mid_request(), self.partial_since) {
            // Waiting on us, not on the client: no request timeout runs.
            _ if self.held => None,
            (false, _) => None,
            (true, Some(t)) if events.is_empty() => Some(t),
            (true, _) => Some(std::time::Instant::now()),
        };
        for event in events {
            match event {
                HttpEvent::Request(req) => self.queue.push_back(req),
                HttpEvent::Continue => {
                    if self.active.is_none() && self.queue.is_empty() {
                        outbox.send_raw(|out| {
                            out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n")
                        });
                    }
                }
                HttpEvent::Error(e) => {
                    tracing::debug!(
                        status = e.status,
                        detail = e.detail,
                        client = ?self.peer,
                        "bad HTTP request"
                    );
                    self.refuse(outbox, e.status, e.detail);
                    break;
                }
            }
        }
    }

    /// Answer `status` and close: the request being answered and those waiting are dropped
    /// unanswered, so that nothing keeps the connection open (`idle` looks at both).
    fn refuse(&mut self, outbox: &Rc<Outbox>, status: u16, detail: &str) {
        self.queue.clear();
        if let Some(active) = self.active.take() {
            active.close();
        }
        self.close_after = true;
        let body = format!("{detail}\n");
        outbox.send_raw(|out| {
            http::write_head(
                out,
                status,
                &[("Content-Type", "text/plain")],
                Some(body.len()),
                false,
            );
            out.extend_from_slice(body.as_bytes());
        });
    }

    /// Since when an incomplete request has been arriving, if one is.
    pub(crate) fn partial_since(&self) -> Option<std::time::Instant> {
        self.partial_since
    }

    /// The request took too long to arrive: 408, then close.
    pub(crate) fn refuse_slow(&mut self, outbox: &Rc<Outbox>) {
        self.partial_since = None;
        self.refuse(outbox, 408, "request not completed in time");
    }

    /// Start the next request if the current one is done.
    pub(crate) fn pump(&mut self, service: &Rc<HttpService>, outbox: &Rc<Outbox>) {
        loop {
            if let Some(active) = &self.active {
                if !active.is_done() {
                    return;
                }
                if !active.keep_alive() {
                    self.close_after = true;
                    self.queue.clear();
                }
                self.active = None;
            }
            if self.close_after {
                return;
            }
            if self.held && self.queue.len() < self.max_queued {
                self.take(&[], outbox);
            }
            let Some(req) = self.queue.pop_front() else {
                return;
            };
            self.active = Some(service.handle(req, outbox, self.peer));
        }
    }

    /// The connection is going away.
    pub(crate) fn close(&mut self) {
        if let Some(active) = self.active.take() {
            active.close();
        }
        self.queue.clear();
    }

    /// The peer closed its side while a stream is open: nothing more can come of it.
    pub(crate) fn streaming(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| !a.is_done() && a.is_stream())
    }

    /// Nothing is being answered or waiting.
    pub(crate) fn idle(&self) -> bool {
        self.active.as_ref().is_none_or(|a| a.is_done()) && self.queue.is_empty()
    }

    /// Whether the connection may be read: not while requests wait for room in the queue.
    pub(crate) fn wants_input(&self) -> bool {
        !self.held && self.queue.len() < self.max_queued
    }

    /// The connection should be closed once its bytes are sent.
    pub(crate) fn close_after(&self) -> bool {
        self.close_after && self.idle()
    }
}

impl Protocol for HttpConn {
    type Shared = Rc<HttpService>;

    fn on_bytes(&mut self, service: &Rc<HttpService>, data: &[u8], outbox: &Rc<Outbox>) {
        HttpConn::on_bytes(self, data, service, outbox);
    }

    fn on_flush(&mut self, service: &Rc<HttpService>, outbox: &Rc<Outbox>) {
        self.pump(service, outbox);
    }

    fn wants_input(&self, _: &Rc<HttpService>) -> bool {
        HttpConn::wants_input(self)
    }

    /// A request still incomplete after the request timeout gets 408 and the connection closes
    /// once it is sent; a connection with nothing in flight and no byte for the idle timeout is
    /// closed.
    fn sweep(&mut self, _: &Rc<HttpService>, clock: &SweepClock, outbox: &Rc<Outbox>) -> Swept {
        let late = self
            .partial_since()
            .is_some_and(|t| clock.now.duration_since(t) >= clock.request_timeout);
        if late && self.proxy_header.is_some() {
            tracing::debug!(peer = ?self.peer, "connection refused: PROXY header not completed in time");
            return Swept::Close("PROXY header not completed in time");
        }
        if late {
            tracing::debug!(client = ?self.peer, "HTTP request not completed in time: 408");
            self.refuse_slow(outbox);
        } else if self.idle()
            && self.partial_since().is_none()
            && clock.now.duration_since(clock.last_active) >= clock.idle_timeout
        {
            return Swept::Close("idle HTTP connection");
        }
        Swept::Keep
    }

    /// A peer that closed while a stream is open wants nothing more from it.
    fn busy(&self, eof: bool) -> bool {
        !(self.idle() || eof && self.streaming())
    }

    fn release_idle(&mut self) {
        self.codec.release();
        if self.queue.is_empty() && self.queue.capacity() > 0 {
            self.queue = VecDeque::new();
        }
    }

    fn close(&mut self) {
        HttpConn::close(self);
    }

    fn close_after_send(&self) -> bool {
        self.close_after()
    }
}
