//! [`Link`]: the state one outbound MCP connection shares between the net ring (which feeds it
//! the server's lines) and the tasks that call through it: the sans-IO client session, the
//! handler for server requests, the connection's outbox, and the requests awaiting an answer
//! keyed by id, each with the waker of the future that awaits it ([`Answering`]).
//!
//! Everything here is shard-local (`Rc`, `RefCell`: no lock). It must not touch sockets (bytes
//! leave through the outbox, the driver sends them) nor decide what a method means: building
//! messages and reading answers is `ringmcp_proto::client`'s job.

use super::error::ShardClientError;
use crate::netring::Outbox;
use ringmcp_proto::client::{Answer, ClientHandler, ClientSession, Outgoing};
use ringmcp_proto::{Message, Parsed, RequestId};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One request awaiting its answer.
#[derive(Default)]
struct Waiter {
    answer: Option<Answer>,
    waker: Option<Waker>,
}

struct Inner {
    session: ClientSession,
    handler: Box<dyn ClientHandler>,
    /// Set once the connection is made; dropped when the driver lets the connection go.
    outbox: Option<Rc<Outbox>>,
    waiters: HashMap<RequestId, Waiter>,
    /// Why the connection can no longer be used (`None` while it can).
    down: Option<String>,
}

/// One outbound MCP connection's shared state.
pub(crate) struct Link {
    inner: RefCell<Inner>,
    max_line: usize,
}

impl Link {
    /// A link for a connection still to be dialed.
    pub(super) fn new(
        session: ClientSession,
        handler: Box<dyn ClientHandler>,
        max_line: usize,
    ) -> Rc<Self> {
        Rc::new(Link {
            inner: RefCell::new(Inner {
                session,
                handler,
                outbox: None,
                waiters: HashMap::new(),
                down: None,
            }),
            max_line,
        })
    }

    /// The connection is made: bytes for the server go to `outbox`. Returns the longest line
    /// the connection accepts from the server.
    pub(super) fn attach(&self, outbox: Rc<Outbox>) -> usize {
        self.inner.borrow_mut().outbox = Some(outbox);
        self.max_line
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
            if let Some(outbox) = &inner.outbox {
                outbox.send_raw(|_| {});
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
        self.inner.borrow_mut().outbox = None;
    }

    /// Queue one message for the server.
    pub(super) fn send(&self, out: &Outgoing) -> Result<(), ShardClientError> {
        let inner = self.inner.borrow();
        write(&inner, out)
    }

    /// Send a request and return the future of its answer. `cancellable`: a dropped future
    /// sends `notifications/cancelled` (never for `initialize`, which must not be cancelled).
    pub(super) fn ask(
        self: &Rc<Self>,
        out: &Outgoing,
        cancellable: bool,
    ) -> Result<Answering, ShardClientError> {
        let Some(id) = out.id.clone() else {
            return Err(ShardClientError::Closed(
                "a request without an id cannot be answered".into(),
            ));
        };
        {
            let mut inner = self.inner.borrow_mut();
            write(&inner, out)?;
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
                                waiter.answer = Some(Answer::from_response(r));
                                wake.extend(waiter.waker.take());
                            }
                            None => tracing::debug!(id = ?r.id, "an answer to no waiting request"),
                        }
                    }
                    Ok(Message::Request(request)) => {
                        let reply = inner
                            .session
                            .answer_request(&request, inner.handler.as_mut());
                        if let Err(e) = write(inner, &reply) {
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
            if let Err(e) = write(&inner, &note) {
                tracing::debug!(error = %e, "could not send notifications/cancelled");
            }
        }
    }
}

/// Queue `out` as one line, unless the connection is down or not made.
fn write(inner: &Inner, out: &Outgoing) -> Result<(), ShardClientError> {
    if let Some(why) = &inner.down {
        return Err(ShardClientError::Closed(why.clone()));
    }
    let outbox = inner
        .outbox
        .as_ref()
        .filter(|o| !o.is_closed())
        .ok_or_else(|| ShardClientError::Closed("the connection is not open".into()))?;
    outbox.send_line(|buf| buf.extend_from_slice(&out.body));
    Ok(())
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
                (Some(answer), _) => Ok(answer),
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
