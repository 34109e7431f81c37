//! [`RequestContext`]: what a handler can do besides returning a value: report progress, log to the
//! client, notice that the client cancelled, and publish resource updates to every shard.

use crate::service::{Session, ShardCtx};
use ringmcp_proto::jsonrpc;
use ringmcp_proto::types::{LogLevel, LoggingMessageParams};
use serde::Serialize;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A shard-local cancellation flag with wakers.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Rc<CancelInner>,
}

#[derive(Default)]
struct CancelInner {
    cancelled: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl CancelToken {
    /// A fresh, uncancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancel: wakes everything waiting on [`CancelToken::cancelled`].
    pub fn cancel(&self) {
        self.inner.cancelled.set(true);
        for w in self.inner.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.get()
    }

    /// Resolves once cancelled.
    pub fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        Cancelled { token: self }
    }
}

struct Cancelled<'a> {
    token: &'a CancelToken,
}

impl Future for Cancelled<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self.token.inner.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Handed to every handler call.
#[derive(Clone)]
pub struct RequestContext {
    inner: Rc<Inner>,
}

struct Inner {
    session: Rc<Session>,
    shard: Rc<ShardCtx>,
    progress_token: Option<Value>,
    log_level: Option<LogLevel>,
    cancel: CancelToken,
    last_progress: Cell<f64>,
}

#[derive(Serialize)]
struct ProgressParams<'a> {
    #[serde(rename = "progressToken")]
    progress_token: &'a Value,
    progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl RequestContext {
    pub(crate) fn new(
        session: Rc<Session>,
        shard: Rc<ShardCtx>,
        progress_token: Option<Value>,
        log_level: Option<LogLevel>,
        cancel: CancelToken,
    ) -> Self {
        RequestContext {
            inner: Rc::new(Inner {
                session,
                shard,
                progress_token,
                log_level,
                cancel,
                last_progress: Cell::new(f64::NEG_INFINITY),
            }),
        }
    }

    /// Whether the caller asked for progress (gave a `progressToken`).
    pub fn wants_progress(&self) -> bool {
        self.inner.progress_token.is_some()
    }

    /// Send `notifications/progress` if the caller gave a progress token. Progress must increase;
    /// a value that does not is dropped.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        if self.inner.cancel.is_cancelled() || progress <= self.inner.last_progress.get() {
            return;
        }
        self.inner.last_progress.set(progress);
        let params = ProgressParams {
            progress_token: token,
            progress,
            total,
            message,
        };
        self.inner
            .session
            .out
            .send(|out| jsonrpc::write_notification(out, "notifications/progress", &params));
    }

    /// Send `notifications/message` if the client's log level lets `level` through.
    pub fn log(&self, level: LogLevel, logger: Option<&str>, data: Value) {
        if self.inner.log_level.is_none_or(|min| level < min) || self.inner.cancel.is_cancelled() {
            return;
        }
        let params = LoggingMessageParams {
            level,
            logger: logger.map(str::to_owned),
            data,
        };
        self.inner
            .session
            .out
            .send(|out| jsonrpc::write_notification(out, "notifications/message", &params));
    }

    /// Whether the client cancelled this request.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Resolves when the client cancels this request. The server also stops polling the handler
    /// then, so this is for handlers that want to clean up between steps.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// Tell every subscriber of `uri`, on every shard, that the resource changed.
    pub fn notify_resource_updated(&self, uri: &str) {
        self.inner.shard.publish_resource_updated(uri);
    }

    /// The index of the shard (core) running this handler.
    pub fn shard_id(&self) -> usize {
        self.inner.shard.id
    }
}
