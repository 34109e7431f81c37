//! [`ReplayStream`]: the standing SSE stream of a legacy HTTP session. Messages that belong to no
//! request (resource updates, listen notifications) get increasing event ids and are kept, the last
//! few hundred of them, so that a client reconnecting with `Last-Event-ID` gets what it missed,
//! and messages sent while no GET stream is open are not lost either.

use super::exchange::Exchange;
use crate::service::{MsgKind, Outlet};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// Numbered, bounded history of a session's unsolicited messages plus the open GET stream.
pub(crate) struct ReplayStream {
    events: RefCell<VecDeque<(u64, Vec<u8>)>>,
    next: Cell<u64>,
    capacity: usize,
    current: RefCell<Option<Rc<Exchange>>>,
}

impl ReplayStream {
    /// A stream keeping at most `capacity` past events.
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayStream {
            events: RefCell::new(VecDeque::new()),
            next: Cell::new(1),
            capacity,
            current: RefCell::new(None),
        }
    }

    /// Make `stream` the session's GET stream, first replaying every kept event after
    /// `last_event_id`. Returns the previous stream, if any.
    pub(crate) fn attach(
        &self,
        stream: Rc<Exchange>,
        last_event_id: Option<u64>,
    ) -> Option<Rc<Exchange>> {
        if let Some(last) = last_event_id {
            for (id, data) in self.events.borrow().iter().filter(|(id, _)| *id > last) {
                stream.event_with_id(*id, data);
            }
        }
        self.current.replace(Some(stream))
    }

    /// The open GET stream, if any.
    pub(crate) fn current(&self) -> Option<Rc<Exchange>> {
        self.current.borrow().clone().filter(|s| !s.is_done())
    }

    /// Forget the stream if it is `stream`.
    pub(crate) fn detach(&self, stream: &Rc<Exchange>) {
        let mut current = self.current.borrow_mut();
        if current.as_ref().is_some_and(|c| Rc::ptr_eq(c, stream)) {
            *current = None;
        }
    }
}

impl Outlet for ReplayStream {
    fn send(&self, _kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut data = Vec::with_capacity(128);
        write(&mut data);
        let id = self.next.get();
        self.next.set(id + 1);
        if let Some(stream) = self.current() {
            stream.event_with_id(id, &data);
        }
        let mut events = self.events.borrow_mut();
        events.push_back((id, data));
        while events.len() > self.capacity {
            events.pop_front();
        }
    }

    fn is_closed(&self) -> bool {
        false
    }
}
