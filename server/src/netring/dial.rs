//! [`Dialer`]: how code running on a shard (its tasks; later the cluster mode's Redis client) asks
//! the shard's net ring for an outbound TCP connection, and [`Dialing`], the future that resolves
//! to it ([`Dialed`]) or to the error that ended it.
//!
//! This module owns the queue between the shard's tasks and the driver, and the reply slot of each
//! dial. It opens no socket and queues no operation (the driver does, in `connect.rs`), and knows
//! no protocol: what a dialed connection speaks is the caller's [`Protocols::Dial`] value, which
//! the driver hands to [`Protocols::dialed`]. Everything here is shard-local (`Rc`): a dial is
//! served by the ring of the shard it was made on.
//!
//! The address is resolved already (no name lookup ever runs on a shard), timeouts and
//! reconnecting are the caller's: dropping a [`Dialing`] gives the dial up, which cancels its
//! connect, or closes the connection if it was made before the caller saw it.
//!
//! [`Protocols::Dial`]: super::Protocols::Dial
//! [`Protocols::dialed`]: super::Protocols::dialed

use super::outbox::{ConnRef, Outbox, ShardSignal};
use super::tls::ClientTls;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A dialed connection, open in the driver's slab with its protocol state made by
/// [`Protocols::dialed`](super::Protocols::dialed).
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "the Redis link meets its connection in `Protocols::dialed`; only tests read these"
    )
)]
pub(crate) struct Dialed {
    /// The connection's name in its shard.
    pub(crate) conn: ConnRef,
    /// Where bytes for the peer go (the protocol state was handed the same outbox).
    pub(crate) outbox: Rc<Outbox>,
}

/// The error a dial ends with when the shard's ring will not make it: it is stopping, or gone.
fn stopping() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the shard's net ring is stopping",
    )
}

/// What the driver and the dials' futures share: the doorbell, and the dials given up since the
/// driver last looked.
struct Bell {
    signal: Rc<ShardSignal>,
    /// Some dial still connecting was given up: its connect is to be cancelled.
    abandoned: Cell<bool>,
    /// Connections made for dials given up before their caller saw them: to be closed.
    unwanted: RefCell<Vec<ConnRef>>,
}

/// One dial's answer, written by the driver and read by the [`Dialing`] future.
#[derive(Default)]
struct Slot {
    result: RefCell<Option<io::Result<Dialed>>>,
    delivered: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// The future was dropped before the answer came.
    abandoned: Cell<bool>,
}

/// The driver's end of one dial's slot. Dropped without an answer (the driver stopped, or was
/// dropped, with the dial queued or connecting), it answers that the ring is stopping, so no
/// caller waits forever.
pub(super) struct Reply {
    slot: Rc<Slot>,
}

impl Reply {
    /// Whether the caller gave the dial up (nobody will read the answer).
    pub(super) fn abandoned(&self) -> bool {
        self.slot.abandoned.get()
    }

    /// Answer the dial and wake its caller.
    pub(super) fn send(self, result: io::Result<Dialed>) {
        self.deliver(result);
    }

    fn deliver(&self, result: io::Result<Dialed>) {
        if self.slot.delivered.replace(true) {
            return;
        }
        *self.slot.result.borrow_mut() = Some(result);
        // Taken out first: the woken task may poll at once and borrow the slot again.
        let waker = self.slot.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.deliver(Err(stopping()));
    }
}

/// A dial waiting for the driver: where to, what the connection will speak, and where the answer
/// goes.
pub(super) struct DialRequest<D> {
    pub(super) addr: SocketAddr,
    /// Speak TLS over the connection, as its client.
    pub(super) tls: Option<ClientTls>,
    pub(super) dial: D,
    pub(super) reply: Reply,
}

struct DialQueue<D> {
    requests: RefCell<Vec<DialRequest<D>>>,
    /// The driver is gone: dials fail at once.
    closed: Cell<bool>,
    bell: Rc<Bell>,
}

/// Asks the shard's net ring for outbound connections. Cheap to clone; every clone feeds the same
/// driver. Only usable on the shard that made it (`Rc`).
pub(crate) struct Dialer<D> {
    queue: Rc<DialQueue<D>>,
}

impl<D> Clone for Dialer<D> {
    fn clone(&self) -> Self {
        Dialer {
            queue: self.queue.clone(),
        }
    }
}

impl<D> Dialer<D> {
    /// Connect to `addr`; the connection will speak what `dial` names (see
    /// [`Protocols::dialed`](super::Protocols::dialed)). The request is queued now and the loop
    /// woken, whether or not the future is ever polled; dropping the future gives the dial up.
    pub(crate) fn dial(&self, addr: SocketAddr, dial: D) -> Dialing {
        self.dial_tls(addr, None, dial)
    }

    /// [`Dialer::dial`], speaking TLS (as the client) over the connection when `tls` says so:
    /// the handshake starts as soon as the connect succeeds, the dial resolves without waiting
    /// for it, and what the protocol writes meanwhile is sent once it is done. A failed
    /// handshake closes the connection.
    pub(crate) fn dial_tls(&self, addr: SocketAddr, tls: Option<ClientTls>, dial: D) -> Dialing {
        let slot = Rc::new(Slot::default());
        let reply = Reply { slot: slot.clone() };
        if self.queue.closed.get() {
            reply.send(Err(stopping()));
        } else {
            self.queue.requests.borrow_mut().push(DialRequest {
                addr,
                tls,
                dial,
                reply,
            });
            self.queue.bell.signal.ring();
        }
        Dialing {
            slot,
            bell: self.queue.bell.clone(),
        }
    }
}

/// One dial in progress: resolves to the connection, or to the error that ended it (the connect's
/// own, `ECONNREFUSED` say, or `ConnectionAborted` when the shard's ring is stopping).
#[must_use = "dropping the future gives the dial up"]
pub(crate) struct Dialing {
    slot: Rc<Slot>,
    bell: Rc<Bell>,
}

impl Future for Dialing {
    type Output = io::Result<Dialed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.slot.result.borrow_mut().take() {
            return Poll::Ready(result);
        }
        *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Dialing {
    fn drop(&mut self) {
        if !self.slot.delivered.get() {
            self.slot.abandoned.set(true);
            self.bell.abandoned.set(true);
            self.bell.signal.ring();
        } else if let Some(Ok(dialed)) = self.slot.result.borrow_mut().take() {
            // Made, but its caller left before seeing it: nobody would ever use or close it.
            self.bell.unwanted.borrow_mut().push(dialed.conn);
            self.bell.signal.ring();
        }
    }
}

/// The driver's end of the queue. Dropping it (the driver is gone) answers every dial still
/// queued, and every later one, with an error.
pub(super) struct DialInbox<D> {
    queue: Rc<DialQueue<D>>,
}

impl<D> DialInbox<D> {
    /// An empty queue whose dials wake the loop through `signal`.
    pub(super) fn new(signal: Rc<ShardSignal>) -> Self {
        DialInbox {
            queue: Rc::new(DialQueue {
                requests: RefCell::new(Vec::new()),
                closed: Cell::new(false),
                bell: Rc::new(Bell {
                    signal,
                    abandoned: Cell::new(false),
                    unwanted: RefCell::new(Vec::new()),
                }),
            }),
        }
    }

    /// A handle for the shard's tasks.
    pub(super) fn dialer(&self) -> Dialer<D> {
        Dialer {
            queue: self.queue.clone(),
        }
    }

    /// Whether anything waits for the driver: a dial to start, one to cancel, one to close.
    pub(super) fn has_work(&self) -> bool {
        let bell = &self.queue.bell;
        !self.queue.requests.borrow().is_empty()
            || bell.abandoned.get()
            || !bell.unwanted.borrow().is_empty()
    }

    /// Move the queued dials into `into` (empty).
    pub(super) fn take(&self, into: &mut Vec<DialRequest<D>>) {
        std::mem::swap(&mut *self.queue.requests.borrow_mut(), into);
    }

    /// Whether some dial still connecting was given up since the last call.
    pub(super) fn take_abandoned(&self) -> bool {
        self.queue.bell.abandoned.replace(false)
    }

    /// Look at the connects given up again next turn (a cancel could not be queued).
    pub(super) fn rearm_abandoned(&self) {
        self.queue.bell.abandoned.set(true);
    }

    /// Connections made for dials given up before their caller saw them.
    pub(super) fn take_unwanted(&self) -> Vec<ConnRef> {
        std::mem::take(&mut *self.queue.bell.unwanted.borrow_mut())
    }
}

impl<D> Drop for DialInbox<D> {
    fn drop(&mut self) {
        self.queue.closed.set(true);
        // Each request's `Reply` answers as it drops.
        let requests = std::mem::take(&mut *self.queue.requests.borrow_mut());
        drop(requests);
    }
}
