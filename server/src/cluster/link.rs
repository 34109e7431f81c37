//! [`RedisLink`]: one shard's command connection to Redis. Callers hand it commands and get their
//! replies later; it writes them into the connection's outbox (every command of one turn leaves
//! in one send, pipelined), matches replies to callers in order, hands RESP3 pushes (client-side
//! cache invalidations) to whoever listens, and keeps the connection alive: it dials through the
//! shard's net ring, says `HELLO 3` with the credentials, reconnects with back-off and jitter when
//! the connection is lost, and declares it dead when Redis stops answering.
//!
//! A command never waits for a connection: while the link is down, or its bounded queue of
//! commands awaiting replies is full, the call fails at once with a [`StoreError`] the HTTP layer
//! turns into 503. It knows commands and replies only: what the keys mean is the stores' business.
//! Everything is shard-local (`Rc`); blocking commands must never be sent on it.

use super::resp::{Cmd, Reply};
use crate::netring::{Dialer, Outbox};
use crate::store::{Lookup, StoreError};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How often the watchdog looks at the oldest command, and the unit of its clock.
const TICK: Duration = Duration::from_millis(100);
/// A link idle this long sends a PING, so that a peer gone silent is noticed.
const HEARTBEAT_TICKS: u64 = 30;
/// Reconnect back-off bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A value one side fills and the other awaits.
struct Slot<T> {
    value: RefCell<Option<T>>,
    waker: RefCell<Option<Waker>>,
}

impl<T> Slot<T> {
    fn new() -> Rc<Self> {
        Rc::new(Slot {
            value: RefCell::new(None),
            waker: RefCell::new(None),
        })
    }

    fn fill(&self, value: T) {
        *self.value.borrow_mut() = Some(value);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Awaits a [`Slot`].
struct Wait<T>(Rc<Slot<T>>);

impl<T> Future for Wait<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(value) = self.0.value.borrow_mut().take() {
            return Poll::Ready(value);
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

type Replies = Result<Vec<Reply>, StoreError>;

/// Hears the items of each RESP3 push.
type PushListener = Box<dyn Fn(&[Reply])>;

/// One call's commands awaiting their replies.
struct Waiter {
    expect: usize,
    got: Vec<Reply>,
    /// The watchdog's tick when the call was sent.
    sent: u64,
    slot: Rc<Slot<Replies>>,
}

/// The connection the link speaks on, once dialed.
struct Conn {
    outbox: Rc<Outbox>,
    /// Which connection of the link's life this is: bytes and closes of an older one are ignored.
    epoch: u64,
    /// The handshake is done: callers' commands may go.
    ready: bool,
    /// Fills when the connection ends, with why.
    lost: Rc<Slot<String>>,
}

/// The link's settings.
#[derive(Debug, Clone)]
pub(crate) struct LinkConfig {
    /// Where Redis listens (resolved).
    pub(crate) addr: SocketAddr,
    /// What the link says first on every connection (`HELLO 3 AUTH .. SETNAME ..`, `SELECT`,
    /// `CLIENT TRACKING`); an error reply to any of them fails the connection.
    pub(crate) handshake: Vec<Cmd>,
    /// Commands awaiting replies at most.
    pub(crate) max_in_flight: usize,
    /// A reply later than this marks the connection dead.
    pub(crate) command_timeout: Duration,
}

/// One shard's connection to Redis.
pub(crate) struct RedisLink {
    config: LinkConfig,
    conn: RefCell<Option<Conn>>,
    /// Why the link is down (shown in 503s and `/ready`).
    down: RefCell<String>,
    epochs: Cell<u64>,
    waiting: RefCell<VecDeque<Waiter>>,
    /// Listeners of RESP3 pushes.
    pushes: RefCell<Vec<PushListener>>,
    /// Called each time a connection becomes ready (after a reconnect, caches may be stale).
    ups: RefCell<Vec<Box<dyn Fn()>>>,
    /// The watchdog's clock, in ticks.
    ticks: Cell<u64>,
    /// The tick of the last command sent.
    last_sent: Cell<u64>,
    stopped: Cell<bool>,
}

impl RedisLink {
    /// A link not yet connected: calls fail until [`Self::start`] has connected it.
    pub(crate) fn new(config: LinkConfig) -> Rc<Self> {
        Rc::new(RedisLink {
            config,
            conn: RefCell::new(None),
            down: RefCell::new("not connected yet".into()),
            epochs: Cell::new(0),
            waiting: RefCell::new(VecDeque::new()),
            pushes: RefCell::new(Vec::new()),
            ups: RefCell::new(Vec::new()),
            ticks: Cell::new(0),
            last_sent: Cell::new(0),
            stopped: Cell::new(false),
        })
    }

    /// Connect, and stay connected until the shard stops: the reconnecting task and the watchdog.
    /// Generic over the shard's dial type, so that the link names only its own part of it.
    pub(crate) fn start<D: From<Rc<RedisLink>> + 'static>(self: &Rc<Self>, dialer: Dialer<D>) {
        glommio::spawn_local(maintain(self.clone(), dialer)).detach();
        glommio::spawn_local(watchdog(Rc::downgrade(self))).detach();
    }

    /// Hear every RESP3 push (invalidations).
    pub(crate) fn on_push(&self, f: impl Fn(&[Reply]) + 'static) {
        self.pushes.borrow_mut().push(Box::new(f));
    }

    /// Hear each new connection becoming ready.
    pub(crate) fn on_up(&self, f: impl Fn() + 'static) {
        self.ups.borrow_mut().push(Box::new(f));
    }

    /// `None` while connected; why not, otherwise.
    pub(crate) fn unavailable(&self) -> Option<String> {
        match &*self.conn.borrow() {
            Some(conn) if conn.ready => None,
            _ => Some(self.down.borrow().clone()),
        }
    }

    /// Send `cmds` (pipelined, in order) and get their replies, one per command. Fails at once
    /// when the link is down or its queue is full; error replies come back as [`Reply::Error`].
    pub(crate) fn call(&self, cmds: &[Cmd]) -> Lookup<Replies> {
        match self.send(cmds, false) {
            Ok(slot) => Lookup::Later(Box::pin(Wait(slot))),
            Err(e) => Lookup::Ready(Err(e)),
        }
    }

    /// Send `cmds` and ignore what comes back (errors are logged).
    pub(crate) fn fire(&self, cmds: &[Cmd]) {
        if let Lookup::Later(done) = self.call(cmds) {
            glommio::spawn_local(async move {
                match done.await {
                    Ok(replies) => {
                        if let Some(e) = replies.iter().find_map(Reply::error) {
                            tracing::warn!(error = e, "Redis refused a command");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "Redis command lost"),
                }
            })
            .detach();
        }
    }

    /// Send commands Redis answers with pushes only (`SUBSCRIBE`: in RESP3 its confirmations
    /// are out of band, so no reply is awaited). Dropped while the link is down: subscribe again
    /// from [`Self::on_up`].
    pub(crate) fn send_only(&self, cmds: &[Cmd]) {
        if let Some(conn) = self.conn.borrow().as_ref().filter(|c| c.ready) {
            write(&conn.outbox, cmds);
        }
    }

    fn send(&self, cmds: &[Cmd], handshake: bool) -> Result<Rc<Slot<Replies>>, StoreError> {
        let conn = self.conn.borrow();
        let Some(conn) = conn.as_ref().filter(|c| c.ready || handshake) else {
            return Err(StoreError::Unavailable(self.down.borrow().clone()));
        };
        let mut waiting = self.waiting.borrow_mut();
        if waiting.len() >= self.config.max_in_flight {
            return Err(StoreError::Overloaded);
        }
        write(&conn.outbox, cmds);
        let slot = Slot::new();
        let sent = self.ticks.get();
        self.last_sent.set(sent);
        waiting.push_back(Waiter {
            expect: cmds.len(),
            got: Vec::with_capacity(cmds.len()),
            sent,
            slot: slot.clone(),
        });
        Ok(slot)
    }

    /// A connection was dialed for this link: its outbox, and the epoch its bytes carry.
    pub(crate) fn attach(&self, outbox: Rc<Outbox>) -> u64 {
        let epoch = self.epochs.get() + 1;
        self.epochs.set(epoch);
        *self.conn.borrow_mut() = Some(Conn {
            outbox,
            epoch,
            ready: false,
            lost: Slot::new(),
        });
        epoch
    }

    /// Whether `epoch` names the live connection.
    pub(crate) fn current(&self, epoch: u64) -> bool {
        self.conn
            .borrow()
            .as_ref()
            .is_some_and(|c| c.epoch == epoch)
    }

    /// Whether commands await replies.
    pub(crate) fn busy(&self) -> bool {
        !self.waiting.borrow().is_empty()
    }

    /// A reply arrived on connection `epoch`.
    pub(crate) fn on_reply(&self, epoch: u64, reply: Reply) {
        if !self.current(epoch) {
            return;
        }
        if let Reply::Push(items) = &reply {
            for listener in self.pushes.borrow().iter() {
                listener(items);
            }
            return;
        }
        let mut waiting = self.waiting.borrow_mut();
        let Some(front) = waiting.front_mut() else {
            drop(waiting);
            self.fail(epoch, "Redis sent a reply nobody asked for".into());
            return;
        };
        front.got.push(reply);
        if front.got.len() >= front.expect {
            if let Some(done) = waiting.pop_front() {
                drop(waiting);
                done.slot.fill(Ok(done.got));
            }
        }
    }

    /// Connection `epoch` is unusable (closed, timed out, spoke garbage): fail what waits on it,
    /// and have the driver close it (see [`super::RedisConn::close_after_send`]).
    pub(crate) fn fail(&self, epoch: u64, why: String) {
        let conn = {
            let mut slot = self.conn.borrow_mut();
            if slot.as_ref().is_none_or(|c| c.epoch != epoch) {
                return;
            }
            slot.take()
        };
        *self.down.borrow_mut() = why.clone();
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        for waiter in waiting {
            waiter.slot.fill(Err(StoreError::Unavailable(why.clone())));
        }
        if let Some(conn) = conn {
            // An empty write marks the outbox, so the driver looks at the connection, finds it
            // no longer current, and closes it.
            conn.outbox.send_raw(|_| {});
            conn.lost.fill(why);
        }
    }

    /// The shard is stopping: no reconnects.
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
    }

    /// Run the handshake on the freshly attached connection `epoch`.
    async fn handshake(&self, epoch: u64) -> Result<Rc<Slot<String>>, String> {
        let slot = self
            .send(&self.config.handshake, true)
            .map_err(|e| e.to_string())?;
        let replies = Wait(slot).await.map_err(|e| e.to_string())?;
        if let Some(e) = replies.iter().find_map(Reply::error) {
            let why = format!("Redis refused the handshake: {e}");
            self.fail(epoch, why.clone());
            return Err(why);
        }
        let mut conn = self.conn.borrow_mut();
        let conn = conn
            .as_mut()
            .filter(|c| c.epoch == epoch)
            .ok_or_else(|| self.down.borrow().clone())?;
        conn.ready = true;
        Ok(conn.lost.clone())
    }
}

/// Queue `cmds` on a connection's outbox, in order, in one write.
fn write(outbox: &Outbox, cmds: &[Cmd]) {
    outbox.send_raw(|out| {
        for cmd in cmds {
            cmd.write(out);
        }
    });
}

/// A random factor in [0.5, 1.5), so that nodes that lost Redis together do not reconnect in step.
fn jitter(d: Duration) -> Duration {
    let r = getrandom::u32().unwrap_or(0x8000_0000);
    d.mul_f64(0.5 + f64::from(r) / f64::from(u32::MAX))
}

async fn maintain<D: From<Rc<RedisLink>>>(link: Rc<RedisLink>, dialer: Dialer<D>) {
    let mut backoff = BACKOFF_MIN;
    let mut reported = false;
    while !link.stopped.get() {
        let result = match dialer.dial(link.config.addr, D::from(link.clone())).await {
            Ok(_dialed) => {
                let epoch = link.epochs.get();
                link.handshake(epoch).await
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => break,
            Err(e) => Err(format!(
                "cannot connect to Redis at {}: {e}",
                link.config.addr
            )),
        };
        match result {
            Ok(lost) => {
                tracing::info!(addr = %link.config.addr, "connected to Redis");
                backoff = BACKOFF_MIN;
                reported = false;
                for up in link.ups.borrow().iter() {
                    up();
                }
                let why = Wait(lost).await;
                if link.stopped.get() {
                    break;
                }
                tracing::warn!(addr = %link.config.addr, reason = %why, "Redis connection lost");
            }
            Err(why) => {
                *link.down.borrow_mut() = why.clone();
                if reported {
                    tracing::debug!(reason = %why, "Redis still unreachable");
                } else {
                    tracing::warn!(reason = %why, "Redis unreachable; retrying with back-off");
                    reported = true;
                }
            }
        }
        glommio::timer::sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

async fn watchdog(link: std::rc::Weak<RedisLink>) {
    loop {
        glommio::timer::sleep(TICK).await;
        let Some(link) = link.upgrade() else { break };
        if link.stopped.get() {
            break;
        }
        let now = link.ticks.get() + 1;
        link.ticks.set(now);
        let timeout = (link.config.command_timeout.as_millis() / TICK.as_millis()).max(1) as u64;
        let oldest = link.waiting.borrow().front().map(|w| w.sent);
        let epoch = link.conn.borrow().as_ref().map(|c| (c.epoch, c.ready));
        match (epoch, oldest) {
            (Some((epoch, _)), Some(sent)) if now - sent > timeout => {
                link.fail(
                    epoch,
                    format!(
                        "Redis did not answer within {} ms",
                        link.config.command_timeout.as_millis()
                    ),
                );
            }
            (Some((_, true)), None) if now - link.last_sent.get() >= HEARTBEAT_TICKS => {
                link.fire(&[Cmd::new("PING")]);
            }
            _ => {}
        }
    }
}
