//! [`CancelSwitch`]: the cancellation a running call listens to, which moves from its request to
//! its task when the call becomes one. It only routes cancellation; it must not answer requests.

use crate::service::CancelToken;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Where a running call's cancellation comes from: its request at first, its task once it
/// became one (so that the end of the request no longer stops it).
pub(super) struct CancelSwitch {
    current: RefCell<CancelToken>,
    wakers: RefCell<Vec<Waker>>,
}

impl CancelSwitch {
    /// A switch pointing at `token` (the request's).
    pub(super) fn new(token: CancelToken) -> Self {
        CancelSwitch {
            current: RefCell::new(token),
            wakers: RefCell::new(Vec::new()),
        }
    }

    pub(super) fn switch_to(&self, token: CancelToken) {
        *self.current.borrow_mut() = token;
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

/// Resolves once the token the switch points at is cancelled.
pub(super) struct SwitchCancelled {
    pub(super) switch: Rc<CancelSwitch>,
}

impl Future for SwitchCancelled {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let token = self.switch.current.borrow().clone();
        let mut cancelled = std::pin::pin!(token.cancelled());
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        // Once per waiting task, not once per poll: a long call is polled many times.
        let mut wakers = self.switch.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
