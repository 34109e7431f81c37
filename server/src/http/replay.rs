//! [`ReplayStream`]: the standing SSE stream of a legacy HTTP session. Messages that belong to no
//! request (resource updates, listen notifications) are appended to the session's stream in the
//! [`EventStore`], which numbers them, and written to the open GET stream under that id, so that a
//! client reconnecting with `Last-Event-ID` (to this node or, with a shared store, another) gets
//! what it missed, and messages sent while no GET stream is open are not lost either.

use super::exchange::Exchange;
use crate::service::{MsgKind, Outlet};
use crate::store::{EventStore, Lookup, StoredEvent};
use std::cell::RefCell;
use std::rc::Rc;

/// A session's unsolicited messages: kept in the event store, sent on the GET stream if open.
pub(crate) struct ReplayStream {
    /// The stream's name in the store (the session id).
    name: Rc<str>,
    events: Rc<dyn EventStore>,
    current: Rc<RefCell<Option<Rc<Exchange>>>>,
}

impl ReplayStream {
    /// The stream `name` of `events`.
    pub(crate) fn new(name: &str, events: Rc<dyn EventStore>) -> Self {
        ReplayStream {
            name: Rc::from(name),
            events,
            current: Rc::new(RefCell::new(None)),
        }
    }

    /// Make `stream` the session's GET stream, first replaying every kept event after
    /// `last_event_id`. The previous stream, if any, is finished.
    pub(crate) fn attach(&self, stream: Rc<Exchange>, last_event_id: Option<&str>) {
        let Some(last) = last_event_id else {
            self.go_live(stream);
            return;
        };
        match self.events.after(&self.name, last).now() {
            Ok(found) => {
                replay(&stream, found);
                self.go_live(stream);
            }
            Err(later) => {
                // A store on the network: the stream goes live once its history is written, so
                // the client sees events in order. Events appended while the history is on its
                // way reach the store but not this stream; the client gets them on its next
                // reconnect with the last id it saw.
                let current = self.current.clone();
                glommio::spawn_local(async move {
                    replay(&stream, later.await);
                    if let Some(old) = current.replace(Some(stream)) {
                        old.finish();
                    }
                })
                .detach();
            }
        }
    }

    fn go_live(&self, stream: Rc<Exchange>) {
        if let Some(old) = self.current.replace(Some(stream)) {
            old.finish();
        }
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

    /// The session ended: its events go too.
    pub(crate) fn remove(&self) {
        self.events.remove(&self.name);
    }
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
        match self.events.append(&self.name, &data) {
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
                let current = self.current.clone();
                glommio::spawn_local(async move {
                    let stream = current.borrow().clone().filter(|s| !s.is_done());
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

    fn is_closed(&self) -> bool {
        false
    }
}
