//! How a blocking call is watched while it waits: [`CallOptions`] (a progress callback, a
//! timeout, a flag another thread sets to cancel) and the per-call state the client's wait loop
//! consults. Giving up means `notifications/cancelled`, which the client sends; this file only
//! decides when, and routes the call's own progress notifications to its callback.

use ringmcp_proto::client::Notice;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a call with a cancel flag looks at it.
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// The wait of one step when only the deadline matters.
const LONG_STEP: Duration = Duration::from_secs(3600);

/// A callback for the params of each `notifications/progress` of one call.
pub type OnProgress<'a> = Box<dyn FnMut(&Value) + 'a>;

/// What to watch while a call waits for its answer.
#[derive(Default)]
pub struct CallOptions<'a> {
    /// Called with the params of each `notifications/progress` for this call (a progress token
    /// is added to the request when this is set).
    pub on_progress: Option<OnProgress<'a>>,
    /// Give up after this long, telling the server with `notifications/cancelled`.
    pub timeout: Option<Duration>,
    /// Give up as soon as this is set (by another thread), telling the server likewise.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for CallOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("on_progress", &self.on_progress.is_some())
            .field("timeout", &self.timeout)
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Why a call was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    TimedOut,
    Cancelled,
}

/// One call's watch: its progress token and callback, deadline and cancel flag.
#[derive(Default)]
pub(crate) struct Watch<'a> {
    token: Option<Value>,
    on_progress: Option<OnProgress<'a>>,
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
}

impl<'a> Watch<'a> {
    pub(crate) fn new(options: CallOptions<'a>, token: Option<Value>) -> Self {
        Watch {
            token,
            on_progress: options.on_progress,
            deadline: options.timeout.map(|t| Instant::now() + t),
            cancel: options.cancel,
        }
    }

    /// Nothing to watch: the wait may block until the answer.
    pub(crate) fn unwatched(&self) -> bool {
        self.deadline.is_none() && self.cancel.is_none()
    }

    /// What is left of the call's time, if it has a deadline.
    pub(crate) fn limit(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// How long the next wait may block.
    pub(crate) fn step(&self) -> Duration {
        let until_deadline = self
            .deadline
            .map_or(LONG_STEP, |d| d.saturating_duration_since(Instant::now()));
        match self.cancel {
            Some(_) => until_deadline.min(CANCEL_POLL),
            None => until_deadline,
        }
    }

    /// Whether to give up now, and why.
    pub(crate) fn gave_up(&self) -> Option<GaveUp> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Some(GaveUp::Cancelled);
        }
        self.deadline
            .is_some_and(|d| Instant::now() >= d)
            .then_some(GaveUp::TimedOut)
    }

    /// Take `notice` if it is this call's progress; otherwise hand it back.
    pub(crate) fn progress(&mut self, notice: Notice) -> Option<Notice> {
        let mine = self.token.is_some() && notice.progress_token() == self.token.as_ref();
        match (&mut self.on_progress, mine) {
            (Some(callback), true) => {
                callback(&notice.params);
                None
            }
            _ => Some(notice),
        }
    }
}
