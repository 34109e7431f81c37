//! [`ReplayStream`]: the standing SSE stream of a legacy HTTP session. Messages that belong to no
//! request (resource updates) are numbered so that a client reconnecting with `Last-Event-ID`
//! gets what it missed, and messages sent while no GET stream is open are not lost either:
//!
//! - on one node they are appended to the session's stream in the [`EventStore`], which numbers
//!   them, and written to the open GET stream under that id;
//! - in a cluster each notice is already stored once, in the [`NoticeLog`]: the event's id is
//!   the stream's tag and the notice's position, nothing more is stored per session, and a
//!   resumption on any node reads the log after that position through the session's
//!   subscriptions. The copies of a session on several nodes all hear the same notices, so
//!   none of them appends anything: they cannot write an event twice.
//!
//! Either way a stream writes each event once: while the missed events are read, live ones are
//! held back, and an event at or before the last one written is dropped.

use super::exchange::Exchange;
use crate::service::{MsgKind, Outlet};
use crate::store::{EventStore, LogPos, LoggedNotice, Lookup, Notice, NoticeLog, StoredEvent};
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

/// Which notices of the log a session's stream carries (those it subscribed to).
pub(crate) type Wants = Box<dyn Fn(&Notice) -> bool>;

/// Logged events held back while a resumption reads the log: each position and its message.
type Held = Vec<(LogPos, Vec<u8>)>;

/// The stream the events go to, and what it has been sent of the log.
#[derive(Default)]
struct Live {
    current: RefCell<Option<Rc<Exchange>>>,
    /// The newest logged event written on `current`.
    last: Cell<Option<LogPos>>,
    /// While missed logged events are read: those that arrived meanwhile, in order.
    held: RefCell<Option<Held>>,
}

/// What every session's stream of a shard shares: where events are numbered and kept.
pub(crate) struct ReplayShared {
    pub(crate) events: Rc<dyn EventStore>,
    /// The cluster's log of notices, when there is one.
    pub(crate) log: Option<Rc<dyn NoticeLog>>,
    /// Events one resumption from the log writes at most (the newest are kept).
    pub(crate) max_replay: usize,
}

/// A session's unsolicited messages: numbered, sent on the GET stream if open. Every legacy
/// session has one, most never open a GET stream: it holds the session's id (shared, not
/// copied), the shard's settings (shared) and a hash, and makes its live state only when a
/// stream attaches or an event has to wait for its id.
pub(crate) struct ReplayStream {
    /// The stream's name in the store (the session id).
    name: Rc<str>,
    shared: Rc<ReplayShared>,
    /// Starts the id of each logged event, in hex: says which stream it is of.
    tag: u32,
    live: OnceCell<Rc<Live>>,
}

impl ReplayStream {
    /// The stream `name`: numbered by `shared`'s event store, or by its log for the notices it
    /// carries.
    pub(crate) fn new(name: Rc<str>, shared: Rc<ReplayShared>) -> Self {
        ReplayStream {
            tag: fnv1a(name.as_bytes()),
            name,
            shared,
            live: OnceCell::new(),
        }
    }

    fn live(&self) -> &Rc<Live> {
        self.live.get_or_init(Rc::default)
    }

    /// Make `stream` the session's GET stream, first replaying every event after
    /// `last_event_id` (of the log's, those `wants` keeps). The previous stream, if any, is
    /// finished.
    pub(crate) fn attach(&self, stream: Rc<Exchange>, last_event_id: Option<&str>, wants: Wants) {
        let Some(last) = last_event_id else {
            self.live().go_live(stream, None);
            return;
        };
        if let (Some(log), Some(pos)) = (&self.shared.log, self.logged_pos(last)) {
            self.resume_from_log(log.clone(), stream, pos, wants);
            return;
        }
        match self.shared.events.after(&self.name, last).now() {
            Ok(found) => {
                replay(&stream, found);
                self.live().go_live(stream, None);
            }
            Err(later) => {
                // A store on the network: the stream goes live once its history is written, so
                // the client sees events in order. Events appended while the history is on its
                // way reach the store but not this stream; the client gets them on its next
                // reconnect with the last id it saw.
                let live = self.live().clone();
                glommio::spawn_local(async move {
                    replay(&stream, later.await);
                    live.go_live(stream, None);
                })
                .detach();
            }
        }
    }

    /// The position in an event id this stream wrote for a logged notice.
    fn logged_pos(&self, id: &str) -> Option<LogPos> {
        let (tag, pos) = id.split_once(':')?;
        let ours = tag.len() == 8 && u32::from_str_radix(tag, 16).ok() == Some(self.tag);
        ours.then(|| pos.parse().ok()).flatten()
    }

    /// Write what the log holds after `pos` that `wants` keeps, then go live. Notices heard in
    /// the meantime are held and written after, each once.
    fn resume_from_log(
        &self,
        log: Rc<dyn NoticeLog>,
        stream: Rc<Exchange>,
        pos: LogPos,
        wants: Wants,
    ) {
        let live = self.live().clone();
        live.go_live(stream.clone(), Some(pos));
        *live.held.borrow_mut() = Some(Vec::new());
        let found = log.after(pos, usize::MAX);
        let (tag, max) = (self.tag, self.shared.max_replay);
        glommio::spawn_local(async move {
            let missed = match found.await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(error = %e, "events missed while disconnected not replayed");
                    Vec::new()
                }
            };
            if !live.is_current(&stream) {
                return;
            }
            let mut kept: Vec<LoggedNotice> =
                missed.into_iter().filter(|(_, n)| wants(n)).collect();
            let drop = kept.len().saturating_sub(max);
            for (pos, notice) in kept.drain(..).skip(drop) {
                let mut data = Vec::with_capacity(96);
                notice.write_notification(&mut data);
                live.write_logged(tag, pos, &data);
            }
            let held = live.held.borrow_mut().take().unwrap_or_default();
            for (pos, data) in held {
                live.write_logged(tag, pos, &data);
            }
        })
        .detach();
    }

    /// The open GET stream, if any.
    pub(crate) fn current(&self) -> Option<Rc<Exchange>> {
        let live = self.live.get()?;
        live.current.borrow().clone().filter(|s| !s.is_done())
    }

    /// Forget the stream if it is `stream`.
    pub(crate) fn detach(&self, stream: &Rc<Exchange>) {
        if let Some(live) = self.live.get().filter(|l| l.is_current(stream)) {
            *live.current.borrow_mut() = None;
            *live.held.borrow_mut() = None;
        }
    }

    /// The session ended: its events go too.
    pub(crate) fn remove(&self) {
        self.shared.events.remove(&self.name);
    }
}

impl Live {
    /// `stream` is now the one written, having been sent the log up to `last`; the previous one
    /// is finished.
    fn go_live(&self, stream: Rc<Exchange>, last: Option<LogPos>) {
        self.last.set(last);
        *self.held.borrow_mut() = None;
        if let Some(old) = self.current.replace(Some(stream)) {
            old.finish();
        }
    }

    fn is_current(&self, stream: &Rc<Exchange>) -> bool {
        self.current
            .borrow()
            .as_ref()
            .is_some_and(|c| Rc::ptr_eq(c, stream))
    }

    /// Write a logged event unless the stream has had it (or a later one).
    fn write_logged(&self, tag: u32, pos: LogPos, data: &[u8]) {
        if self.last.get().is_some_and(|last| pos <= last) {
            return;
        }
        let stream = self.current.borrow().clone().filter(|s| !s.is_done());
        if let Some(stream) = stream {
            stream.event_with_id(&format!("{tag:08x}:{pos}"), data);
            self.last.set(Some(pos));
        }
    }
}

/// 32-bit FNV-1a: the same tag for the same stream on every node and every build.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Write stored events (or say why they could not be read) on `stream`.
fn replay(stream: &Exchange, found: Result<Vec<StoredEvent>, crate::store::StoreError>) {
    match found {
        Ok(events) => {
            for (id, data) in events {
                stream.event_with_id(&id, &data);
            }
        }
        Err(e) => tracing::warn!(error = %e, "events missed while disconnected not replayed"),
    }
}

impl Outlet for ReplayStream {
    fn send(&self, _kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut data = Vec::with_capacity(128);
        write(&mut data);
        match self.shared.events.append(&self.name, &data) {
            Lookup::Ready(Ok(id)) => {
                if let Some(stream) = self.current() {
                    stream.event_with_id(&id, &data);
                }
            }
            Lookup::Ready(Err(e)) => {
                tracing::warn!(error = %e, "session event not stored; sent without an id");
                if let Some(stream) = self.current() {
                    stream.event_with_id("", &data);
                }
            }
            Lookup::Later(id) => {
                let live = self.live().clone();
                glommio::spawn_local(async move {
                    let stream = live.current.borrow().clone().filter(|s| !s.is_done());
                    match (id.await, stream) {
                        (Ok(id), Some(stream)) => stream.event_with_id(&id, &data),
                        (Err(e), Some(stream)) => {
                            tracing::warn!(error = %e, "session event not stored");
                            stream.event_with_id("", &data);
                        }
                        (_, None) => {}
                    }
                })
                .detach();
            }
        }
    }

    fn send_logged(&self, pos: LogPos, write: &mut dyn FnMut(&mut Vec<u8>)) {
        if self.current().is_none() {
            // The log has it: a resumption reads it from there.
            return;
        }
        let mut data = Vec::with_capacity(96);
        write(&mut data);
        let live = self.live();
        if let Some(held) = live.held.borrow_mut().as_mut() {
            held.push((pos, data));
            return;
        }
        live.write_logged(self.tag, pos, &data);
    }

    fn is_closed(&self) -> bool {
        false
    }
}
