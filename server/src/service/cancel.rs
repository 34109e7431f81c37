//! [`CancelToken`]: the shard-local cancellation flag of one request or task. It lives with the
//! shard state (sessions hold one per request in flight, tasks one each) so that this layer needs
//! nothing from the SDK; the SDK re-exports it for handlers. It must not touch sockets, the
//! engine or the SDK.
//!
//! The flag ([`CancelState`]) may live inside another shard-local value ([`CancelHost`]), so
//! that a request's token shares the allocation of its handler's context instead of costing one
//! of its own.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A shard-local cancellation flag with wakers.
#[derive(Clone)]
pub struct CancelToken {
    inner: Rc<dyn CancelHost>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken {
            inner: Rc::new(CancelState::default()),
        }
    }
}

/// The flag and the wakers of those waiting for it.
#[derive(Default)]
pub(crate) struct CancelState {
    cancelled: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

/// A value that holds a [`CancelState`], so that a token can point into it.
pub(crate) trait CancelHost {
    /// The flag this value holds.
    fn cancel_state(&self) -> &CancelState;
}

impl CancelHost for CancelState {
    fn cancel_state(&self) -> &CancelState {
        self
    }
}

impl CancelState {
    /// Whether it was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// Resolves once cancelled.
    pub(crate) fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        Cancelled { state: self }
    }
}

impl CancelToken {
    /// A fresh, uncancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token for the flag `host` holds (it keeps `host` alive).
    pub(crate) fn hosted(host: Rc<dyn CancelHost>) -> Self {
        CancelToken { inner: host }
    }

    /// Cancel: wakes everything waiting on [`CancelToken::cancelled`].
    pub fn cancel(&self) {
        let state = self.inner.cancel_state();
        state.cancelled.set(true);
        for w in state.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel_state().is_cancelled()
    }

    /// Resolves once cancelled.
    pub fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        self.inner.cancel_state().cancelled()
    }
}

struct Cancelled<'a> {
    state: &'a CancelState,
}

impl Future for Cancelled<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self.state.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
