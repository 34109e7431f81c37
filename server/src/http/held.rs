//! [`Held`]: an outlet that keeps what is sent to it until it is released, then passes it on to
//! its exchange. `initialize` answers through one: in a cluster the answer must not reach the
//! client before the new session is in the shared store, or the client's next request, on another
//! node, would find no session. Nothing here knows why it holds.

use super::exchange::Exchange;
use crate::service::{MsgKind, Outlet};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// One message held: its kind and its JSON.
type Message = (MsgKind, Vec<u8>);

/// Messages for `to`, held back until [`Held::release`].
pub(super) struct Held {
    to: Rc<Exchange>,
    /// What was sent while held; `None` once released.
    queue: RefCell<Option<Vec<Message>>>,
    unanswered: Cell<bool>,
}

impl Held {
    /// Hold what is sent for `to`.
    pub(super) fn new(to: Rc<Exchange>) -> Rc<Self> {
        Rc::new(Held {
            to,
            queue: RefCell::new(Some(Vec::new())),
            unanswered: Cell::new(false),
        })
    }

    /// Pass on what was held, and everything after it at once.
    pub(super) fn release(&self) {
        let queue = self.queue.borrow_mut().take().unwrap_or_default();
        for (kind, body) in queue {
            self.to.send(kind, &mut |out| out.extend_from_slice(&body));
        }
        if self.unanswered.get() {
            self.to.unanswered();
        }
    }
}

impl Outlet for Held {
    fn send(&self, kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        if let Some(queue) = self.queue.borrow_mut().as_mut() {
            let mut body = Vec::with_capacity(256);
            write(&mut body);
            queue.push((kind, body));
            return;
        }
        self.to.send(kind, write);
    }

    fn is_closed(&self) -> bool {
        self.to.is_done()
    }

    fn unanswered(&self) {
        if self.queue.borrow().is_some() {
            self.unanswered.set(true);
        } else {
            self.to.unanswered();
        }
    }
}
