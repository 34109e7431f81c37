//! Handler calls: [`McpService::spawn_call`] registers a call in the session's in-flight table,
//! builds its [`RequestContext`], lets it escalate to a task when allowed, gives it an OTel span
//! from `_meta.traceparent`, runs it as a shard-local task and turns its outcome (result, error,
//! cancellation, panic) into the answer or the task's result. What a call validates and computes
//! is the per-method files' business.

use super::cancel_switch::{CancelSwitch, SwitchCancelled};
use super::reply::Sink;
use super::rounds::{spend, Round};
use super::{Call, McpService};
use crate::sdk::{BoxFuture, HandlerError, InputMode, RequestContext};
use crate::service::{created_legacy, created_modern, resolve, LiveTask};
use futures_lite::FutureExt;
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::jsonrpc::{code, ErrorObject};
use ringmcp_proto::types::{LogLevel, RequestMeta};
use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

/// May this call become a task, and in which flavour (2025-11-25 or the 2026-07-28 extension).
#[derive(Clone, Copy)]
pub(super) struct TaskMode {
    pub(super) legacy: bool,
}

/// A handler called for its future, or the panic its synchronous part raised.
pub(super) type Called<T> = std::thread::Result<BoxFuture<T>>;

/// Call a handler for its future, at dispatch (see [`answer`]).
pub(super) fn call_handler<T>(call: impl FnOnce() -> BoxFuture<T>) -> Called<T> {
    std::panic::catch_unwind(AssertUnwindSafe(call))
}

/// The handler's answer. A panic in its synchronous part is raised again here, inside the call's
/// task, where it becomes -32603 for this request only, as a panic in the future itself does.
pub(super) async fn answer<T>(called: Called<T>) -> T {
    match called {
        Ok(answer) => answer.await,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

impl McpService {
    /// Register the call as in flight and run `work` as a task; `work` returns the result, which
    /// is serialised straight into the answer (or into the task's stored result), or an error.
    pub(super) fn spawn_call<F, R>(
        self: &Rc<Self>,
        sink: &Sink,
        mut call: Call,
        meta: Option<&RequestMeta>,
        round: Round,
        task_mode: Option<TaskMode>,
        work: impl FnOnce(RequestContext) -> F,
    ) where
        F: Future<Output = Result<R, ErrorObject>> + 'static,
        R: serde::Serialize,
    {
        let session = sink.session().clone();
        if session.inflight.borrow().contains_key(&call.id) {
            let e = ErrorObject::invalid_request("a request with this id is already in flight");
            return sink.error(Some(&call.id), &e);
        }
        if session.inflight() >= self.limits.max_inflight_per_session {
            let e = ErrorObject::new(
                code::SERVER_BUSY,
                "too many requests in flight on this session",
            );
            return sink.error(Some(&call.id), &e);
        }
        let log_level = match &call.era {
            Era::Modern(m) => m.log_level,
            Era::Legacy => Some(
                session
                    .legacy
                    .borrow()
                    .log_level()
                    .unwrap_or(LogLevel::Info),
            ),
        };
        let progress_token = meta.and_then(|m| m.progress_token.clone());
        let claim = round.claim;
        // The era is not needed past this point: its capabilities move into the context.
        let input = match std::mem::replace(&mut call.era, Era::Legacy) {
            Era::Modern(m) => InputMode::Modern {
                capabilities: m.client_capabilities,
                responses: round.responses,
                state: round.state,
            },
            Era::Legacy => InputMode::Legacy {
                timeout: self.limits.client_request_timeout,
            },
        };
        let ctx = RequestContext::new(
            input,
            session.clone(),
            sink.outlet.clone(),
            self.shard.clone(),
            progress_token,
            log_level,
        )
        .with_live_registry(self.live_handle.as_ref());
        let token = ctx.cancel_token();
        session
            .inflight
            .borrow_mut()
            .insert(call.id.clone(), token.clone());
        // Only a call that may become a task needs its cancellation to move and a slot for the
        // task: the common call listens to its request's token and allocates neither.
        let escalation = task_mode.map(|mode| {
            let switch = Rc::new(CancelSwitch::new(token.clone()));
            let escalated: Rc<RefCell<Option<Rc<LiveTask>>>> = Rc::new(RefCell::new(None));
            let (tasks, sink, id, session, switch2, escalated2) = (
                self.tasks.clone(),
                sink.clone(),
                call.id.clone(),
                session.clone(),
                switch.clone(),
                escalated.clone(),
            );
            let server_meta = self.shape.server_meta.clone();
            ctx.allow_task(Box::new(move || {
                let owner = mode.legacy.then_some(&*session);
                let announced = id.clone();
                // Stored before the client hears of it; then the request is answered with it.
                let announce = move |created: Result<_, ErrorObject>| match created {
                    Ok(info) if mode.legacy => sink.result(&announced, &created_legacy(info)),
                    Ok(info) => sink.result(&announced, &created_modern(info, &server_meta)),
                    Err(e) => sink.error(Some(&announced), &e),
                };
                let record = tasks
                    .create(owner, announce)
                    .map_err(|e| HandlerError::Internal(e.message))?;
                session.inflight.borrow_mut().remove(&id);
                switch2.switch_to(record.cancel_token().clone());
                *escalated2.borrow_mut() = Some(record.clone());
                Ok(record)
            }));
            (switch, escalated)
        });
        let fut = work(ctx);
        let shard = self.shard.clone();
        let sink = sink.clone();
        shard.request_started();
        // W3C trace context from `_meta.traceparent`: the call gets a span in the caller's trace
        // (exported over OTLP when configured). Untraced calls pay for no span.
        let span = match meta.and_then(|m| m.traceparent.as_deref()) {
            Some(tp) => {
                let span = tracing::info_span!("mcp.call", id = ?call.id, trace_id = tp.split('-').nth(1).unwrap_or(""));
                let parent = crate::telemetry::remote_context(
                    tp,
                    meta.and_then(|m| m.tracestate.as_deref()),
                );
                let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
                span
            }
            None => tracing::Span::none(),
        };
        glommio::spawn_local(tracing::Instrument::instrument(async move {
            let run = async {
                // A single-use state is spent before its handler runs, or the request fails.
                if let Some(claim) = claim {
                    if let Err(e) = spend(claim).await {
                        return Some(Ok(Err(e)));
                    }
                }
                Some(AssertUnwindSafe(fut).catch_unwind().await)
            };
            let outcome = match &escalation {
                None => run.or(async { token.cancelled().await; None }).await,
                Some((switch, _)) => {
                    let switch = switch.clone();
                    run.or(async { SwitchCancelled { switch }.await; None }).await
                }
            };
            shard.request_finished();
            let task = escalation.and_then(|(_, escalated)| escalated.borrow_mut().take());
            if let Some(task) = task {
                // The request was answered with the task: the outcome is the task's.
                match outcome {
                    None => {}
                    Some(Ok(Ok(result))) => match serde_json::to_string(&result).and_then(serde_json::value::RawValue::from_string) {
                        Ok(raw) => resolve(task.complete(raw)).await,
                        Err(_) => resolve(task.fail(ErrorObject::internal("result could not be stored"))).await,
                    },
                    Some(Ok(Err(e))) => resolve(task.fail(e)).await,
                    Some(Err(_)) => {
                        tracing::error!(task = %&task.id[..8.min(task.id.len())], "handler panicked in a task");
                        resolve(task.fail(ErrorObject::internal("handler panicked"))).await;
                    }
                }
                return;
            }
            session.inflight.borrow_mut().remove(&call.id);
            match outcome {
                None => sink.skip(),
                Some(Ok(Ok(result))) => sink.result(&call.id, &result),
                Some(Ok(Err(e))) => sink.error(Some(&call.id), &e),
                Some(Err(panic)) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "handler panicked".into());
                    tracing::error!(id = ?call.id, panic = %what, "handler panicked");
                    sink.error(Some(&call.id), &ErrorObject::internal("handler panicked"));
                }
            }
        }, span))
        .detach();
    }
}
