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

/// The flag and the wakers of those waiting for it. Usually one waits (the call's task): its
/// waker has a slot of its own, so that waiting costs no allocation.
#[derive(Default)]
pub(crate) struct CancelState {
    cancelled: Cell<bool>,
    first: RefCell<Option<Waker>>,
    more: RefCell<Vec<Waker>>,
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
        let first = state.first.borrow_mut().take();
        let more = std::mem::take(&mut *state.more.borrow_mut());
        for w in first.into_iter().chain(more) {
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
        let mut first = self.state.first.borrow_mut();
        match &*first {
            None => *first = Some(cx.waker().clone()),
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(_) => {
                let mut more = self.state.more.borrow_mut();
                if !more.iter().any(|w| w.will_wake(cx.waker())) {
                    more.push(cx.waker().clone());
                }
            }
        }
        Poll::Pending
    }
}
