//! [`Link`]: the state one outbound MCP session shares between the net ring (which feeds it the
//! server's messages) and the tasks that call through it: the sans-IO client session, the
//! handler for server requests, where messages leave (the one connection's outbox, or the HTTP
//! pool that POSTs each), and the requests awaiting an answer keyed by id, each with the waker
//! of the future that awaits it ([`Answering`]).
//!
//! Everything here is shard-local (`Rc`, `RefCell`: no lock). It must not touch sockets (bytes
//! leave through outboxes, the driver sends them) nor decide what a method means: building
//! messages and reading answers is `ringmcp_proto::client`'s job.

use super::error::ShardClientError;
use super::http::{Carried, Exchange, HttpPool};
use crate::netring::Outbox;
use ringmcp_proto::client::{Answer, ClientHandler, ClientSession, Outgoing};
use ringmcp_proto::{Message, Parsed, RequestId};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// One request awaiting its answer.
#[derive(Default)]
struct Waiter {
    /// The answer, or why none will come (the request alone is lost, the session lives on).
    answer: Option<Result<Answer, String>>,
    waker: Option<Waker>,
    /// HTTP: the event id its stream was last resumed from, and how many resumes in a row
    /// brought nothing newer.
    resumed_from: Option<String>,
    resumes: u32,
    /// The `retry:` delay its stream last asked for.
    retry_ms: Option<u64>,
}

/// Where a stream that ended before its answer can be picked up again.
#[derive(Debug, Clone)]
pub(super) struct Resume {
    /// The last event id the stream sent.
    pub(super) last_event_id: String,
    /// The stream's `retry:` delay, if it sent one.
    pub(super) retry_ms: Option<u64>,
}

/// Resumes of one answer's stream in a row that bring no new event before the request is
/// given up (a server that keeps closing the stream would otherwise hold it forever).
const MAX_IDLE_RESUMES: u32 = 3;

/// The reconnection delay of a stream that never sent `retry:`.
const DEFAULT_RETRY_MS: u64 = 1000;

/// Where the session's messages leave.
enum Wire {
    /// One connection, one message per line. Set once the connection is made; dropped when the
    /// driver lets the connection go.
    Lines(Option<Rc<Outbox>>),
    /// Streamable HTTP: each message is POSTed on a connection of the pool.
    Http(HttpPool),
}

/// The id the answer to a session's `DELETE` settles (never a JSON-RPC id this client mints:
/// those are numbers).
const DELETE_WAITER: &str = "ringmcp:delete";

struct Inner {
    session: ClientSession,
    handler: Box<dyn ClientHandler>,
    wire: Wire,
    waiters: HashMap<RequestId, Waiter>,
    /// Why the connection can no longer be used (`None` while it can).
    down: Option<String>,
}

/// One outbound MCP session's shared state.
pub(crate) struct Link {
    /// The link itself, for the connections the HTTP pool dials to feed.
    me: Weak<Link>,
    inner: RefCell<Inner>,
    max_line: usize,
}

impl Link {
    /// A link for a newline-JSON connection still to be dialed.
    pub(super) fn new(
        session: ClientSession,
        handler: Box<dyn ClientHandler>,
        max_line: usize,
    ) -> Rc<Self> {
        Self::over(session, handler, max_line, Wire::Lines(None))
    }

    /// A link for a Streamable HTTP session whose connections `pool` dials as requests need them.
    pub(super) fn http(
        session: ClientSession,
        handler: Box<dyn ClientHandler>,
        max_line: usize,
        pool: HttpPool,
    ) -> Rc<Self> {
        Self::over(session, handler, max_line, Wire::Http(pool))
    }

    fn over(
        session: ClientSession,
        handler: Box<dyn ClientHandler>,
        max_line: usize,
        wire: Wire,
    ) -> Rc<Self> {
        Rc::new_cyclic(|me| Link {
            me: me.clone(),
            inner: RefCell::new(Inner {
                session,
                handler,
                wire,
                waiters: HashMap::new(),
                down: None,
            }),
            max_line,
        })
    }

    /// The connection is made: bytes for the server go to `outbox`. Returns the longest line
    /// the connection accepts from the server.
    pub(super) fn attach(&self, outbox: Rc<Outbox>) -> usize {
        self.inner.borrow_mut().wire = Wire::Lines(Some(outbox));
        self.max_line
    }

    /// The longest message accepted from the server.
    pub(super) fn max_message(&self) -> usize {
        self.max_line
    }

    /// Connection `slot` of the HTTP pool is made.
    pub(super) fn http_attach(&self, slot: usize, outbox: Rc<Outbox>) {
        if let Wire::Http(pool) = &mut self.inner.borrow_mut().wire {
            pool.attached(slot, outbox);
        }
    }

    /// The server named the HTTP session.
    pub(super) fn http_session_id(&self, id: &str) {
        if let Wire::Http(pool) = &mut self.inner.borrow_mut().wire {
            pool.set_session_id(id);
        }
    }

    /// Connection `slot` has read a whole response with status `status`. A request it carried
    /// that the body did not answer is resumed if its stream can be (`resume`), else settled
    /// now: refused (an error status without a JSON-RPC answer, as the specification's 400, 404
    /// and 405 are) or lost.
    pub(super) fn http_finished(
        &self,
        slot: usize,
        status: u16,
        reusable: bool,
        resume: Option<Resume>,
    ) {
        let settled = {
            let mut inner = self.inner.borrow_mut();
            let carried = match &mut inner.wire {
                Wire::Http(pool) => pool.finished(slot, reusable, &self.me),
                Wire::Lines(_) => None,
            };
            // Built only for a request still waiting: most responses carried their answer.
            let answer = |resuming: bool| match status {
                400.. if resuming => Err(format!(
                    "the server refused to resume the answer's stream (status {status})"
                )),
                400.. => Ok(Answer::Refused(Some(status))),
                202 => Err(
                    "the server accepted the request without answering it (answers on \
                            a GET stream are not followed)"
                        .to_owned(),
                ),
                _ => Err(format!(
                    "the server's response (status {status}) ended without the answer"
                )),
            };
            carried.and_then(|c| {
                let resuming = c.resuming;
                self.resume_or_settle(&mut inner, c, resume, || answer(resuming))
            })
        };
        settled.into_iter().for_each(Waker::wake);
    }

    /// Connection `slot` closed (or was given up, for `why`) before its response ended.
    pub(super) fn http_closed(&self, slot: usize, why: &str, resume: Option<Resume>) {
        let settled = {
            let mut inner = self.inner.borrow_mut();
            let carried = match &mut inner.wire {
                Wire::Http(pool) => pool.closed(slot, &self.me),
                Wire::Lines(_) => None,
            };
            carried
                .and_then(|c| self.resume_or_settle(&mut inner, c, resume, || Err(why.to_owned())))
        };
        settled.into_iter().for_each(Waker::wake);
    }

    /// A stream ended before the answer `carried` waits for: ask for the rest (`GET` with
    /// `Last-Event-ID`, after the server's `retry:` delay) while it makes progress, or settle
    /// the request with what `answer` makes. Returns the waker to wake.
    fn resume_or_settle(
        &self,
        inner: &mut Inner,
        carried: Carried,
        resume: Option<Resume>,
        answer: impl FnOnce() -> Result<Answer, String>,
    ) -> Option<Waker> {
        let waiter = inner.waiters.get_mut(&carried.waiter)?;
        if waiter.answer.is_some() {
            return None;
        }
        // A resumed stream that sent no event id yet resumes from where the last one left off.
        let resume = resume.or_else(|| {
            let from = waiter.resumed_from.clone().filter(|_| carried.resuming)?;
            Some(Resume {
                last_event_id: from,
                retry_ms: waiter.retry_ms,
            })
        });
        let Some(resume) = resume.filter(|_| inner.down.is_none()) else {
            return settle(inner, &carried.waiter, answer());
        };
        // Resumes that brought no new event count against the limit; progress resets it.
        if waiter.resumed_from.as_deref() == Some(resume.last_event_id.as_str()) {
            waiter.resumes += 1;
        } else {
            waiter.resumes = 0;
        }
        if waiter.resumes >= MAX_IDLE_RESUMES {
            let why =
                format!("the answer's stream ended {MAX_IDLE_RESUMES} times without a new event");
            return settle(inner, &carried.waiter, Err(why));
        }
        waiter.resumed_from = Some(resume.last_event_id.clone());
        waiter.retry_ms = resume.retry_ms.or(waiter.retry_ms);
        let exchange = Exchange::Resume {
            waiter: carried.waiter,
            last_event_id: resume.last_event_id,
            version: inner.session.version_header(),
        };
        let delay = Duration::from_millis(waiter.retry_ms.unwrap_or(DEFAULT_RETRY_MS));
        tracing::debug!(?delay, "resuming an answer's stream");
        let me = self.me.clone();
        glommio::spawn_local(async move {
            glommio::timer::sleep(delay).await;
            if let Some(link) = me.upgrade() {
                link.resubmit(exchange);
            }
        })
        .detach();
        None
    }

    /// Submit `exchange` (a resume whose delay is over), unless its request is settled or the
    /// session down.
    fn resubmit(&self, exchange: Exchange) {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        let waiting = match &exchange {
            Exchange::Resume { waiter, .. } => inner
                .waiters
                .get(waiter)
                .is_some_and(|w| w.answer.is_none()),
            _ => true,
        };
        if !waiting || inner.down.is_some() {
            return;
        }
        if let Wire::Http(pool) = &mut inner.wire {
            pool.submit(exchange, &self.me);
        }
    }

    /// Dialing connection `slot` failed. With no connection left, the session is down: the
    /// server cannot be reached.
    pub(super) fn http_dial_failed(&self, slot: usize, error: std::io::Error) {
        let stranded = match &mut self.inner.borrow_mut().wire {
            Wire::Http(pool) => pool.dial_failed(slot),
            Wire::Lines(_) => None,
        };
        tracing::debug!(%error, "an HTTP client connection could not be made");
        if stranded.is_some() {
            self.fail(format!("cannot connect: {error}"));
        }
    }

    /// End the HTTP session: `DELETE` it if the server named it. Resolves once the server has
    /// answered (the caller bounds the wait); `None` when there is nothing to delete.
    pub(super) fn delete_session(self: &Rc<Self>) -> Option<Answering> {
        let mut inner = self.inner.borrow_mut();
        if inner.down.is_some() {
            return None;
        }
        let version = inner.session.version_header();
        let Wire::Http(pool) = &mut inner.wire else {
            return None;
        };
        pool.session_id()?;
        let waiter = RequestId::from_value(&json!(DELETE_WAITER))?;
        pool.submit(
            Exchange::Delete {
                waiter: waiter.clone(),
                version,
            },
            &self.me,
        );
        inner.waiters.insert(waiter.clone(), Waiter::default());
        Some(Answering {
            link: self.clone(),
            id: waiter,
            cancellable: false,
            settled: false,
        })
    }

    /// Whether the connection has been given up.
    pub(super) fn is_down(&self) -> bool {
        self.inner.borrow().down.is_some()
    }

    /// Whether requests await answers.
    pub(super) fn busy(&self) -> bool {
        !self.inner.borrow().waiters.is_empty()
    }

    /// Run `f` on the session and the handler.
    pub(super) fn with_session<R>(
        &self,
        f: impl FnOnce(&mut ClientSession, &mut dyn ClientHandler) -> R,
    ) -> R {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        f(&mut inner.session, inner.handler.as_mut())
    }

    /// Give the connection up: every request waiting fails with `why`, and the driver is told
    /// to close the connection (an empty write marks the outbox, so the driver looks at it and
    /// finds [`McpClientConn::close_after_send`](super::conn::McpClientConn::close_after_send)).
    pub(super) fn fail(&self, why: String) {
        let wakers: Vec<Waker> = {
            let mut inner = self.inner.borrow_mut();
            if inner.down.is_some() {
                return;
            }
            tracing::debug!(reason = %why, "MCP client connection down");
            inner.down = Some(why);
            match &inner.wire {
                Wire::Lines(outbox) => outbox.iter().for_each(|o| o.send_raw(|_| {})),
                Wire::Http(pool) => pool.outboxes().for_each(|o| o.send_raw(|_| {})),
            }
            inner
                .waiters
                .values_mut()
                .filter_map(|w| w.waker.take())
                .collect()
        };
        // Woken outside the borrow: a woken future borrows the link when it is polled.
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The driver has closed the connection: let go of its outbox.
    pub(super) fn gone(&self) {
        self.inner.borrow_mut().wire = Wire::Lines(None);
    }

    /// Queue one message for the server.
    pub(super) fn send(&self, out: Outgoing) -> Result<(), ShardClientError> {
        let mut inner = self.inner.borrow_mut();
        write(&mut inner, out, &self.me)
    }

    /// Send a request and return the future of its answer. `cancellable`: a dropped future
    /// sends `notifications/cancelled` (never for `initialize`, which must not be cancelled).
    pub(super) fn ask(
        self: &Rc<Self>,
        out: Outgoing,
        cancellable: bool,
    ) -> Result<Answering, ShardClientError> {
        let Some(id) = out.id.clone() else {
            return Err(ShardClientError::Closed(
                "a request without an id cannot be answered".into(),
            ));
        };
        {
            let mut inner = self.inner.borrow_mut();
            write(&mut inner, out, &self.me)?;
            inner.waiters.insert(id.clone(), Waiter::default());
        }
        Ok(Answering {
            link: self.clone(),
            id,
            cancellable,
            settled: false,
        })
    }

    /// One line from the server: an answer for a waiting request, a request to answer, or a
    /// notification.
    pub(super) fn on_line(&self, line: &[u8]) {
        let messages = match ringmcp_proto::jsonrpc::parse(line) {
            Parsed::Single(item) => vec![item],
            Parsed::Batch(items) => items,
        };
        let mut wake = Vec::new();
        {
            let mut inner = self.inner.borrow_mut();
            let inner = &mut *inner;
            for message in messages {
                match message {
                    Ok(Message::Response(r)) => {
                        let waiter = r.id.as_ref().and_then(|id| inner.waiters.get_mut(id));
                        match waiter {
                            Some(waiter) => {
                                waiter.answer = Some(Ok(Answer::from_response(r)));
                                wake.extend(waiter.waker.take());
                            }
                            None => tracing::debug!(id = ?r.id, "an answer to no waiting request"),
                        }
                    }
                    Ok(Message::Request(request)) => {
                        let reply = inner
                            .session
                            .answer_request(&request, inner.handler.as_mut());
                        if let Err(e) = write(inner, reply, &self.me) {
                            tracing::debug!(error = %e, "could not answer a server request");
                        }
                    }
                    Ok(Message::Notification(n)) => {
                        tracing::trace!(method = %n.method, "server notification");
                    }
                    Err(rejected) => {
                        tracing::warn!(error = %rejected.error, "an unreadable message from the server");
                    }
                }
            }
        }
        wake.into_iter().for_each(Waker::wake);
    }

    /// A request's future was dropped before its answer: forget the request, and tell the server
    /// it may stop working on it.
    fn abandon(&self, id: &RequestId, cancellable: bool) {
        let mut inner = self.inner.borrow_mut();
        inner.waiters.remove(id);
        inner.session.forget(id);
        if cancellable && inner.down.is_none() {
            let note = inner.session.notification(
                "notifications/cancelled",
                &json!({ "requestId": id, "reason": "the caller stopped waiting" }),
            );
            if let Err(e) = write(&mut inner, note, &self.me) {
                tracing::debug!(error = %e, "could not send notifications/cancelled");
            }
        }
    }
}

/// Queue `out` (as one line, or as a POST), unless the session is down or its connection not
/// made.
fn write(inner: &mut Inner, out: Outgoing, me: &Weak<Link>) -> Result<(), ShardClientError> {
    if let Some(why) = &inner.down {
        return Err(ShardClientError::Closed(why.clone()));
    }
    match &mut inner.wire {
        Wire::Lines(outbox) => {
            let outbox = outbox
                .as_ref()
                .filter(|o| !o.is_closed())
                .ok_or_else(|| ShardClientError::Closed("the connection is not open".into()))?;
            outbox.send_line(|buf| buf.extend_from_slice(&out.body));
        }
        Wire::Http(pool) => pool.submit(Exchange::Post(out), me),
    }
    Ok(())
}

/// Settle the request `id` with `answer` unless it already has one; returns the waker to wake
/// (outside the borrow).
fn settle(inner: &mut Inner, id: &RequestId, answer: Result<Answer, String>) -> Option<Waker> {
    let waiter = inner.waiters.get_mut(id)?;
    if waiter.answer.is_some() {
        return None;
    }
    waiter.answer = Some(answer);
    waiter.waker.take()
}

/// The answer to one request, or the reason none will come. Dropping it before it resolves
/// forgets the request (and cancels it on the server), so nothing is left behind.
#[must_use = "dropping the future cancels the request"]
pub(super) struct Answering {
    link: Rc<Link>,
    id: RequestId,
    cancellable: bool,
    settled: bool,
}

impl Future for Answering {
    type Output = Result<Answer, ShardClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut guard = this.link.inner.borrow_mut();
        let inner = &mut *guard;
        let outcome = match inner.waiters.get_mut(&this.id) {
            None => Err(ShardClientError::Closed("the request was forgotten".into())),
            Some(waiter) => match (waiter.answer.take(), &inner.down) {
                (Some(answer), _) => answer.map_err(ShardClientError::Lost),
                (None, Some(why)) => Err(ShardClientError::Closed(why.clone())),
                (None, None) => {
                    waiter.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            },
        };
        inner.waiters.remove(&this.id);
        this.settled = true;
        Poll::Ready(outcome)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        if !self.settled {
            self.link.abandon(&self.id, self.cancellable);
        }
    }
}
