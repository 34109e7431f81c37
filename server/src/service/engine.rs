//! [`McpService`]: frame -> JSON-RPC message -> lifecycle / era check -> handler -> response bytes.
//!
//! Cheap methods (lists, ping, discover, completion) are answered inline. Handler calls (tools,
//! resource reads, prompts) run as shard-local tasks: they are registered in the session's in-flight
//! table so that `notifications/cancelled` can stop them, and a panic inside one becomes -32603 for
//! that request only.

use super::outlet::{MsgKind, Outlet};
use super::seal::StateSeal;
use super::session::Session;
use super::shard::ShardCtx;
use super::tasks::{TaskRecord, TaskStore};
use crate::sdk::{BoxFuture, CancelToken, HandlerError, InputMode, Registry, RequestContext};
use futures_lite::FutureExt;
use ringmcp_proto::dispatch::{ClientRequest, Era, ResultShape};
use ringmcp_proto::framing::Frame;
use ringmcp_proto::jsonrpc::{
    self, code, ErrorObject, Message, Notification, Parsed, Rejected, Request, RequestId,
};
use ringmcp_proto::pagination::{CursorCodec, ListKind};
use ringmcp_proto::ratelimit::TokenBucket;
use ringmcp_proto::revision::{supported_versions, ProtocolVersion};
use ringmcp_proto::seal::KeyRing;
use ringmcp_proto::types::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Protocol limits of the engine (all configurable from the command line).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    pub max_message_bytes: usize,
    /// Items per page of every list.
    pub page_size: usize,
    /// Requests one session may have running at once.
    pub max_inflight_per_session: usize,
    /// `ttlMs` on cacheable 2026-07-28 results.
    pub cache_ttl_ms: u64,
    /// How long a handler waits for the client's answer to a server-to-client request.
    pub client_request_timeout: Duration,
    /// How long a task is kept (`ttlMs`).
    pub task_ttl: Duration,
    /// Suggested task polling interval (`pollIntervalMs`).
    pub task_poll: Duration,
    /// Tasks one shard holds at most.
    pub max_tasks: usize,
    /// Requests per second one client may send (token bucket; 0 = no limit).
    pub rate_limit_rps: f64,
    /// Requests one client may send in a burst.
    pub rate_limit_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            page_size: 100,
            max_inflight_per_session: 256,
            cache_ttl_ms: 0,
            client_request_timeout: Duration::from_secs(60),
            task_ttl: Duration::from_secs(300),
            task_poll: Duration::from_millis(500),
            max_tasks: 10_000,
            rate_limit_rps: 0.0,
            rate_limit_burst: 100,
        }
    }
}

/// The engine of one shard.
pub struct McpService {
    registry: Arc<Registry>,
    shape: ResultShape,
    cursors: CursorCodec,
    seal: StateSeal,
    tasks: Rc<TaskStore>,
    epoch: std::time::Instant,
    limits: Limits,
    shard: Rc<ShardCtx>,
}

/// Where the answer to a request goes: the outlet the request came from, or into a batch reply.
#[derive(Clone)]
struct Sink {
    session: Rc<Session>,
    outlet: Rc<dyn Outlet>,
    batch: Option<Rc<BatchReply>>,
    meter: Option<Rc<Meter>>,
}

/// Counts one request in the shard's metrics when it is answered.
struct Meter {
    shard: Rc<ShardCtx>,
    method: &'static str,
    started: std::time::Instant,
    done: Cell<bool>,
}

impl Meter {
    fn finish(&self, ok: bool) {
        if !self.done.replace(true) {
            self.shard
                .metrics
                .request(self.method, ok, self.started.elapsed());
        }
    }
}

struct BatchReply {
    outlet: Rc<dyn Outlet>,
    parts: RefCell<Vec<Vec<u8>>>,
    pending: Cell<usize>,
}

/// Send through an outlet with a one-shot writer.
fn send_once(outlet: &dyn Outlet, kind: MsgKind, f: impl FnOnce(&mut Vec<u8>)) {
    let mut f = Some(f);
    outlet.send(kind, &mut |out| {
        if let Some(f) = f.take() {
            f(out)
        }
    });
}

impl BatchReply {
    fn finish_one(&self) {
        self.pending.set(self.pending.get().saturating_sub(1));
        if self.pending.get() == 0 {
            let parts = std::mem::take(&mut *self.parts.borrow_mut());
            if parts.is_empty() {
                return;
            }
            send_once(&*self.outlet, MsgKind::Response, |out| {
                out.push(b'[');
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(p);
                }
                out.push(b']');
            });
        }
    }
}

impl Sink {
    fn session(&self) -> &Rc<Session> {
        &self.session
    }

    fn write(&self, f: impl FnOnce(&mut Vec<u8>)) {
        self.write_kind(MsgKind::Response, f)
    }

    fn write_kind(&self, kind: MsgKind, f: impl FnOnce(&mut Vec<u8>)) {
        if let Some(m) = &self.meter {
            m.finish(!matches!(kind, MsgKind::Error(_)));
        }
        match &self.batch {
            None => send_once(&*self.outlet, kind, f),
            Some(b) => {
                let mut part = Vec::new();
                f(&mut part);
                b.parts.borrow_mut().push(part);
                b.finish_one();
            }
        }
    }

    /// The request produced no answer (cancelled): a batch still has to count it.
    fn skip(&self) {
        if let Some(m) = &self.meter {
            m.finish(false);
        }
        if let Some(b) = &self.batch {
            b.finish_one();
        }
    }

    fn error(&self, id: Option<&RequestId>, e: &ErrorObject) {
        self.write_kind(MsgKind::Error(e.code), |out| {
            jsonrpc::write_error(out, id, e)
        });
    }

    fn result<T: Serialize + ?Sized>(&self, id: &RequestId, result: &T) {
        self.write(|out| jsonrpc::write_result(out, id, result));
    }
}

/// Where a running call's cancellation comes from: its request at first, its task once it
/// became one (so that the end of the request no longer stops it).
#[derive(Default)]
struct CancelSwitch {
    current: RefCell<CancelToken>,
    wakers: RefCell<Vec<Waker>>,
}

impl CancelSwitch {
    fn switch_to(&self, token: CancelToken) {
        *self.current.borrow_mut() = token;
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

struct SwitchCancelled {
    switch: Rc<CancelSwitch>,
}

impl std::future::Future for SwitchCancelled {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let token = self.switch.current.borrow().clone();
        let mut cancelled = std::pin::pin!(token.cancelled());
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        self.switch.wakers.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// What a `tasks/*` request asks.
enum TaskOp {
    Get,
    Update(Map<String, Value>),
    Cancel,
    Result,
}

/// May this call become a task, and in which flavour (2025-11-25 or the 2026-07-28 extension).
#[derive(Clone, Copy)]
struct TaskMode {
    legacy: bool,
}

/// The client's side of a 2026-07-28 multi round-trip attempt.
struct Round {
    responses: Option<Map<String, Value>>,
    state: Option<String>,
}

/// What an `input_required` answer needs: its envelope, and the seal for its state.
struct Asking {
    envelope: ResultEnvelope,
    seal: StateSeal,
    binding: String,
}

/// A request in progress: its id, era and revision.
struct Call {
    id: RequestId,
    era: Era,
    version: ProtocolVersion,
}

#[derive(Serialize)]
struct Enveloped<'a, T: Serialize> {
    #[serde(flatten)]
    inner: &'a T,
    #[serde(flatten)]
    envelope: ResultEnvelope,
}

impl McpService {
    /// An engine serving `registry` on `shard`; `keys` (cursors, request states) must be the
    /// same on every shard.
    pub fn new(
        registry: Arc<Registry>,
        limits: Limits,
        shard: Rc<ShardCtx>,
        keys: KeyRing,
    ) -> Self {
        let shape = ResultShape::new(registry.info(), limits.cache_ttl_ms, CacheScope::Public);
        McpService {
            registry,
            shape,
            cursors: CursorCodec::new(keys.clone()),
            seal: StateSeal::new(keys),
            epoch: std::time::Instant::now(),
            tasks: TaskStore::new(
                shard.id,
                limits.task_ttl,
                limits.task_poll,
                limits.max_tasks,
            ),
            limits,
            shard,
        }
    }

    /// The tool arguments a client must mirror in `Mcp-Param-*` headers (SEP-2243).
    pub fn header_params(&self, tool: &str) -> &[(String, String)] {
        self.registry
            .tool(tool)
            .map_or(&[], |t| t.header_params.as_slice())
    }

    /// The shard this engine runs on.
    pub fn shard(&self) -> &Rc<ShardCtx> {
        &self.shard
    }

    /// The message limit (for the line codec).
    pub fn max_message_bytes(&self) -> usize {
        self.limits.max_message_bytes
    }

    /// Handle one decoded line from `session`; answers go to `outlet`.
    pub fn on_frame(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        frame: Frame<'_>,
    ) {
        match frame {
            Frame::Oversize => {
                tracing::debug!(
                    limit = self.limits.max_message_bytes,
                    "oversize message discarded"
                );
                let e = ErrorObject::invalid_request(format!(
                    "message exceeds the {} byte limit",
                    self.limits.max_message_bytes
                ));
                send_once(&**outlet, MsgKind::Error(e.code), |out| {
                    jsonrpc::write_error(out, None, &e)
                });
            }
            Frame::Line(bytes) => self.on_parsed(session, outlet, jsonrpc::parse(bytes)),
        }
    }

    /// Handle one parsed message (or batch) from `session`; answers go to `outlet`.
    pub fn on_parsed(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        parsed: Parsed,
    ) {
        match parsed {
            Parsed::Single(Ok(msg)) => {
                let sink = Sink {
                    session: session.clone(),
                    outlet: outlet.clone(),
                    batch: None,
                    meter: None,
                };
                self.on_message(&sink, msg, false)
            }
            Parsed::Single(Err(Rejected { id, error })) => {
                send_once(&**outlet, MsgKind::Error(error.code), |out| {
                    jsonrpc::write_error(out, id.as_ref(), &error)
                })
            }
            Parsed::Batch(items) => self.on_batch(session, outlet, items),
        }
    }

    fn on_batch(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        items: Vec<Result<Message, Rejected>>,
    ) {
        let version = session.legacy.borrow().version();
        if !version.is_some_and(ProtocolVersion::allows_batches) {
            let why = match version {
                Some(v) => format!("JSON-RPC batches are not part of protocol revision {v}"),
                None => "JSON-RPC batches are only accepted on initialized 2025-03-26 sessions"
                    .to_owned(),
            };
            let e = ErrorObject::invalid_request(why);
            send_once(&**outlet, MsgKind::Error(e.code), |out| {
                jsonrpc::write_error(out, None, &e)
            });
            return;
        }
        let expecting = items
            .iter()
            .filter(|m| !matches!(m, Ok(Message::Notification(_)) | Ok(Message::Response(_))))
            .count();
        let reply = Rc::new(BatchReply {
            outlet: outlet.clone(),
            parts: RefCell::new(Vec::new()),
            pending: Cell::new(expecting + 1),
        });
        let sink = Sink {
            session: session.clone(),
            outlet: outlet.clone(),
            batch: Some(reply.clone()),
            meter: None,
        };
        for item in items {
            match item {
                Ok(msg) => self.on_message(&sink, msg, true),
                Err(Rejected { id, error }) => sink.error(id.as_ref(), &error),
            }
        }
        // The extra count keeps the reply open until every item has been dispatched.
        reply.finish_one();
    }

    fn on_message(self: &Rc<Self>, sink: &Sink, msg: Message, in_batch: bool) {
        match msg {
            Message::Request(req) => self.on_request(sink, req, in_batch),
            Message::Notification(n) => self.on_notification(sink.session(), n),
            Message::Response(r) => {
                let routed =
                    r.id.as_ref()
                        .is_some_and(|id| sink.session().client_answered(id, r.outcome.clone()));
                if !routed {
                    tracing::debug!(id = ?r.id, "response to no request of ours; ignored");
                }
            }
        }
    }

    fn on_notification(&self, session: &Rc<Session>, n: Notification) {
        match n.method.as_str() {
            "notifications/initialized" => session.legacy.borrow_mut().initialized(),
            "notifications/cancelled" => {
                let params: Value = n
                    .params
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                let Some(id) = params.get("requestId").and_then(RequestId::from_value) else {
                    tracing::debug!("notifications/cancelled without a usable requestId");
                    return;
                };
                let token = session.inflight.borrow_mut().remove(&id);
                if let Some(token) = token {
                    tracing::debug!(?id, "request cancelled by client");
                    token.cancel();
                }
                session
                    .listens
                    .borrow_mut()
                    .retain(|(lid, _, _)| *lid != id);
            }
            other => tracing::debug!(method = other, "notification ignored"),
        }
    }

    fn on_request(self: &Rc<Self>, sink: &Sink, req: Request, in_batch: bool) {
        let Request { id, method, params } = req;
        let meter = Meter {
            shard: self.shard.clone(),
            method: crate::metrics::method_label(&method),
            started: std::time::Instant::now(),
            done: Cell::new(false),
        };
        let sink = &Sink {
            meter: Some(Rc::new(meter)),
            ..sink.clone()
        };
        if self.limits.rate_limit_rps > 0.0 {
            let now = self.epoch.elapsed();
            let mut bucket = sink.session.bucket.borrow_mut();
            let bucket = bucket.get_or_insert_with(|| {
                TokenBucket::new(
                    self.limits.rate_limit_rps,
                    self.limits.rate_limit_burst,
                    now,
                )
            });
            if let Err(wait) = bucket.take(now) {
                let e = ErrorObject::new(
                    code::SERVER_BUSY,
                    "rate limited: too many requests from this client",
                )
                .with_data(json!({ "retryAfterMs": wait.as_millis() as u64 + 1 }));
                return sink.error(Some(&id), &e);
            }
        }
        let mut typed = match ClientRequest::parse(&method, params.as_deref()) {
            Ok(t) => t,
            Err(e) => return sink.error(Some(&id), &e),
        };
        let era = match Era::of(&mut typed) {
            Ok(era) => era,
            Err(e) => return sink.error(Some(&id), &e),
        };
        let session = sink.session().clone();
        let version = match &era {
            Era::Modern(m) => m.version,
            Era::Legacy => {
                if let ClientRequest::Initialize(p) = &typed {
                    if in_batch {
                        let e =
                            ErrorObject::invalid_request("initialize must not be part of a batch");
                        return sink.error(Some(&id), &e);
                    }
                    return match session.legacy.borrow_mut().initialize(p) {
                        Ok(v) => sink.result(&id, &self.initialize_result(v)),
                        Err(e) => sink.error(Some(&id), &e),
                    };
                }
                if !typed.is_legacy_method() {
                    return sink.error(Some(&id), &ErrorObject::method_not_found(&method));
                }
                match session.legacy.borrow().admit(&method) {
                    Ok(v) => v,
                    Err(e) => return sink.error(Some(&id), &e),
                }
            }
        };
        let call = Call { id, era, version };
        match typed {
            ClientRequest::Initialize(_) => {}
            ClientRequest::Ping(_) => sink.result(&call.id, &json!({})),
            ClientRequest::Discover(_) => {
                let result = DiscoverResult {
                    supported_versions: supported_versions(),
                    capabilities: {
                        let mut caps = self.registry.capabilities();
                        if self.registry.has_task_tools() {
                            caps.extensions = Some(json!({ TASKS_EXTENSION: {} }));
                        }
                        caps
                    },
                    instructions: self.registry.instructions.clone(),
                    envelope: self.shape.envelope(&call.era, true),
                };
                sink.result(&call.id, &result)
            }
            ClientRequest::ListTools(p) => {
                match self.cursors.page(
                    ListKind::Tools,
                    // Only 2025-11-25 lists `execution.taskSupport`.
                    if call.version == ProtocolVersion::V2025_11_25 {
                        &self.registry.tools_with_execution
                    } else {
                        &self.registry.tools
                    },
                    p.cursor.as_deref(),
                    self.limits.page_size,
                ) {
                    Ok((page, next_cursor)) => {
                        // Older revisions get copies without the fields they do not know.
                        let downgraded: Vec<Tool>;
                        let tools = if call.version.has_structured_output() {
                            page
                        } else {
                            downgraded = page
                                .iter()
                                .map(|t| downgrade_tool(t, call.version))
                                .collect();
                            &downgraded
                        };
                        sink.result(
                            &call.id,
                            &ListToolsResult {
                                tools,
                                next_cursor,
                                envelope: self.shape.envelope(&call.era, true),
                            },
                        )
                    }
                    Err(e) => sink.error(Some(&call.id), &e),
                }
            }
            ClientRequest::ListResources(p) => {
                match self.cursors.page(
                    ListKind::Resources,
                    &self.registry.resources,
                    p.cursor.as_deref(),
                    self.limits.page_size,
                ) {
                    Ok((resources, next_cursor)) => sink.result(
                        &call.id,
                        &ListResourcesResult {
                            resources,
                            next_cursor,
                            envelope: self.shape.envelope(&call.era, true),
                        },
                    ),
                    Err(e) => sink.error(Some(&call.id), &e),
                }
            }
            ClientRequest::ListResourceTemplates(p) => {
                match self.cursors.page(
                    ListKind::ResourceTemplates,
                    &self.registry.templates,
                    p.cursor.as_deref(),
                    self.limits.page_size,
                ) {
                    Ok((resource_templates, next_cursor)) => sink.result(
                        &call.id,
                        &ListResourceTemplatesResult {
                            resource_templates,
                            next_cursor,
                            envelope: self.shape.envelope(&call.era, true),
                        },
                    ),
                    Err(e) => sink.error(Some(&call.id), &e),
                }
            }
            ClientRequest::ListPrompts(p) => {
                match self.cursors.page(
                    ListKind::Prompts,
                    &self.registry.prompts,
                    p.cursor.as_deref(),
                    self.limits.page_size,
                ) {
                    Ok((prompts, next_cursor)) => sink.result(
                        &call.id,
                        &ListPromptsResult {
                            prompts,
                            next_cursor,
                            envelope: self.shape.envelope(&call.era, true),
                        },
                    ),
                    Err(e) => sink.error(Some(&call.id), &e),
                }
            }
            ClientRequest::SetLevel(p) => {
                session.legacy.borrow_mut().set_log_level(p.level);
                sink.result(&call.id, &json!({}))
            }
            ClientRequest::Subscribe(p) => self.subscribe(sink, &call, &p.uri, true),
            ClientRequest::Unsubscribe(p) => self.subscribe(sink, &call, &p.uri, false),
            ClientRequest::Complete(p) => match self.complete(&p) {
                Ok(completion) => sink.result(
                    &call.id,
                    &CompleteResult {
                        completion,
                        envelope: self.shape.envelope(&call.era, false),
                    },
                ),
                Err(e) => sink.error(Some(&call.id), &e),
            },
            ClientRequest::Listen(p) => self.listen(sink, call, p.notifications),
            ClientRequest::TaskGet(p) => self.task_request(sink, &call, &p.task_id, TaskOp::Get),
            ClientRequest::TaskUpdate(p) => self.task_request(
                sink,
                &call,
                &p.task_id,
                TaskOp::Update(p.input_responses.unwrap_or_default()),
            ),
            ClientRequest::TaskCancel(p) => {
                self.task_request(sink, &call, &p.task_id, TaskOp::Cancel)
            }
            ClientRequest::TaskResult(p) => {
                self.task_request(sink, &call, &p.task_id, TaskOp::Result)
            }
            ClientRequest::TaskList(_) => {
                let tasks: Vec<Value> = self
                    .tasks
                    .of_session(sink.session())
                    .iter()
                    .map(|t| t.legacy_task())
                    .collect();
                sink.result(&call.id, &json!({ "tasks": tasks }))
            }
            ClientRequest::CallTool(p) => self.call_tool(sink, call, *p),
            ClientRequest::ReadResource(p) => self.read_resource(sink, call, *p),
            ClientRequest::GetPrompt(p) => self.get_prompt(sink, call, *p),
        }
    }

    /// `tasks/get`, `tasks/update`, `tasks/cancel` and (2025-11-25) `tasks/result`.
    fn task_request(&self, sink: &Sink, call: &Call, task_id: &str, op: TaskOp) {
        let modern = call.era.modern();
        // The extension gate comes before the lookup: an undeclared client learns nothing.
        if let Some(m) = modern {
            if !m.has_extension(TASKS_EXTENSION) {
                let e = ErrorObject::new(
                    code::MISSING_CLIENT_CAPABILITY,
                    format!("tasks/* needs the {TASKS_EXTENSION} extension"),
                )
                .with_data(
                    json!({ "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } } }),
                );
                return sink.error(Some(&call.id), &e);
            }
        }
        let Some(task) = self.tasks.get(task_id) else {
            let e = ErrorObject::invalid_params("Failed to retrieve task: Task not found")
                .with_data(json!({ "taskId": task_id }));
            return sink.error(Some(&call.id), &e);
        };
        let ack = || json!({ "resultType": "complete", "_meta": serde_json::from_str::<Value>(self.shape.server_meta.get()).unwrap_or(Value::Null) });
        match (op, modern.is_some()) {
            (TaskOp::Get, true) => {
                sink.result(&call.id, &task.detailed_modern(&self.shape.server_meta))
            }
            (TaskOp::Get, false) => sink.result(&call.id, &task.legacy_task()),
            (TaskOp::Update(responses), _) => {
                task.answer(&responses);
                sink.result(&call.id, &ack())
            }
            (TaskOp::Cancel, true) => {
                task.cancel();
                sink.result(&call.id, &ack())
            }
            (TaskOp::Cancel, false) => {
                if task.status().is_terminal() {
                    let e = ErrorObject::invalid_params(format!(
                        "Cannot cancel task: already in terminal status '{}'",
                        json!(task.status()).as_str().unwrap_or("")
                    ));
                    return sink.error(Some(&call.id), &e);
                }
                task.cancel();
                sink.result(&call.id, &task.legacy_task())
            }
            (TaskOp::Result, _) => {
                let sink = sink.clone();
                let id = call.id.clone();
                glommio::spawn_local(async move {
                    task.finished().await;
                    match task.legacy_payload() {
                        Ok(result) => sink.result(&id, &result),
                        Err(e) => sink.error(Some(&id), &e),
                    }
                })
                .detach();
            }
        }
    }

    fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        let mut info = self.registry.info().clone();
        if !version.has_structured_output() {
            info.title = None;
        }
        let mut capabilities = self.registry.capabilities();
        if !version.has_audio_and_annotations() {
            capabilities.completions = None;
        }
        if version == ProtocolVersion::V2025_11_25 && self.registry.has_task_tools() {
            capabilities.tasks =
                Some(json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } }));
        }
        InitializeResult {
            protocol_version: version.as_str(),
            capabilities,
            server_info: info,
            instructions: self.registry.instructions.clone(),
        }
    }

    fn subscribe(&self, sink: &Sink, call: &Call, uri: &str, on: bool) {
        let known = self
            .registry
            .resource(uri)
            .map(|r| r.subscribable)
            .or_else(|| self.registry.reader(uri).map(|_| false));
        match known {
            None => {
                let e =
                    ErrorObject::new(call.version.resource_not_found_code(), "Resource not found")
                        .with_data(json!({ "uri": uri }));
                sink.error(Some(&call.id), &e)
            }
            Some(false) if on => sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!(
                    "resource {uri} does not support subscriptions"
                )),
            ),
            Some(_) => {
                let session = sink.session();
                if on {
                    if session.subscriptions.borrow_mut().insert(uri.to_owned()) {
                        self.shard.subscribe(uri, session);
                    }
                } else {
                    session.subscriptions.borrow_mut().remove(uri);
                }
                sink.result(&call.id, &json!({}))
            }
        }
    }

    fn listen(&self, sink: &Sink, call: Call, filter: SubscriptionFilter) {
        let session = sink.session().clone();
        let honoured = SubscriptionFilter {
            tools_list_changed: filter.tools_list_changed.filter(|&b| b),
            prompts_list_changed: filter.prompts_list_changed.filter(|&b| b),
            resources_list_changed: filter.resources_list_changed.filter(|&b| b),
            resource_subscriptions: filter.resource_subscriptions.map(|uris| {
                uris.into_iter()
                    .filter(|u| self.registry.resource(u).is_some_and(|r| r.subscribable))
                    .collect()
            }),
        };
        let params = json!({
            "_meta": { "io.modelcontextprotocol/subscriptionId": call.id.to_value() },
            "notifications": honoured,
        });
        send_once(&*sink.outlet, MsgKind::Notification, |out| {
            jsonrpc::write_notification(out, "notifications/subscriptions/acknowledged", &params)
        });
        let first = session.listens.borrow().is_empty();
        session
            .listens
            .borrow_mut()
            .push((call.id, honoured, sink.outlet.clone()));
        if first {
            self.shard.add_listener(&session);
        }
    }

    fn complete(&self, p: &CompleteParams) -> Result<Completion, ErrorObject> {
        let provider = match &p.reference {
            CompletionRef::Prompt { name } => {
                let prompt = self.registry.prompt(name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {name}"))
                })?;
                prompt.completions.get(&p.argument.name).cloned()
            }
            CompletionRef::Resource { uri } => {
                let template = self.registry.template_by_uri(uri).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown resource template: {uri}"))
                })?;
                template.completions.get(&p.argument.name).cloned()
            }
        };
        let empty = BTreeMap::new();
        let context = p.context.as_ref().map_or(&empty, |c| &c.arguments);
        let mut values = provider
            .map(|f| f(&p.argument.value, context))
            .unwrap_or_default();
        let total = values.len();
        values.truncate(100);
        Ok(Completion {
            has_more: total > values.len(),
            total: Some(total),
            values,
        })
    }

    /// Register the call as in flight and run `work` as a task; `work` returns the serialised
    /// result or an error.
    fn spawn_call(
        self: &Rc<Self>,
        sink: &Sink,
        call: Call,
        meta: Option<&RequestMeta>,
        round: Round,
        task_mode: Option<TaskMode>,
        work: impl FnOnce(RequestContext) -> BoxFuture<Result<Vec<u8>, ErrorObject>>,
    ) {
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
        let token = CancelToken::new();
        session
            .inflight
            .borrow_mut()
            .insert(call.id.clone(), token.clone());
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
        let input = match &call.era {
            Era::Modern(m) => InputMode::Modern {
                capabilities: m.client_capabilities.clone(),
                responses: round.responses,
                state: round.state,
            },
            Era::Legacy => InputMode::Legacy {
                capabilities: session.legacy.borrow().client_capabilities().clone(),
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
            token.clone(),
        );
        let switch = Rc::new(CancelSwitch::default());
        switch.switch_to(token.clone());
        let escalated: Rc<RefCell<Option<Rc<TaskRecord>>>> = Rc::new(RefCell::new(None));
        if let Some(mode) = task_mode {
            let (tasks, sink, id, session, switch, escalated) = (
                self.tasks.clone(),
                sink.clone(),
                call.id.clone(),
                session.clone(),
                switch.clone(),
                escalated.clone(),
            );
            let server_meta = self.shape.server_meta.clone();
            ctx.allow_task(Box::new(move || {
                let owner = mode.legacy.then_some(&session);
                let record = tasks
                    .create(owner)
                    .map_err(|e| HandlerError::Internal(e.message))?;
                // Stored before the client hears of it; then the request is answered with it.
                let created = if mode.legacy {
                    record.created_legacy()
                } else {
                    record.created_modern(&server_meta)
                };
                sink.result(&id, &created);
                session.inflight.borrow_mut().remove(&id);
                switch.switch_to(record.cancel_token().clone());
                *escalated.borrow_mut() = Some(record.clone());
                Ok(record)
            }));
        }
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
            let run = async { Some(AssertUnwindSafe(fut).catch_unwind().await) };
            let outcome = run.or(async { SwitchCancelled { switch }.await; None }).await;
            shard.request_finished();
            let task = escalated.borrow_mut().take();
            if let Some(task) = task {
                // The request was answered with the task: the outcome is the task's.
                match outcome {
                    None => {}
                    Some(Ok(Ok(bytes))) => match serde_json::value::RawValue::from_string(String::from_utf8_lossy(&bytes).into_owned()) {
                        Ok(raw) => task.complete(raw),
                        Err(_) => task.fail(ErrorObject::internal("result could not be stored")),
                    },
                    Some(Ok(Err(e))) => task.fail(e),
                    Some(Err(_)) => {
                        tracing::error!(task = %&task.id[..8.min(task.id.len())], "handler panicked in a task");
                        task.fail(ErrorObject::internal("handler panicked"));
                    }
                }
                return;
            }
            session.inflight.borrow_mut().remove(&call.id);
            match outcome {
                None => sink.skip(),
                Some(Ok(Ok(bytes))) => {
                    sink.write(|out| jsonrpc::write_result_raw(out, &call.id, &bytes))
                }
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

    fn call_tool(self: &Rc<Self>, sink: &Sink, call: Call, p: CallToolParams) {
        let Some(entry) = self.registry.tool(&p.name) else {
            return sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!("Unknown tool: {}", p.name)),
            );
        };
        let args = Value::Object(p.arguments.unwrap_or_default());
        // `is_valid` stops early and builds no errors: the common case pays for nothing else.
        let problems: Vec<String> = if entry.validator.is_valid(&args) {
            Vec::new()
        } else {
            entry
                .validator
                .iter_errors(&args)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect()
        };
        let as_result = call.version.validation_errors_as_tool_results();
        if !problems.is_empty() {
            let text = format!(
                "Invalid arguments for tool {}: {}",
                p.name,
                problems.join("; ")
            );
            if as_result {
                let bytes = self.tool_result_bytes(&call, CallToolResult::error(text));
                return sink.write(|out| jsonrpc::write_result_raw(out, &call.id, &bytes));
            }
            return sink.error(Some(&call.id), &ErrorObject::invalid_params(text));
        }
        let Value::Object(args) = args else { return };
        // Tasks: the 2026-07-28 extension when this request declares it, or 2025-11-25 task
        // augmentation (`params.task`).
        let may_task = match &call.era {
            Era::Modern(m) => m.has_extension(TASKS_EXTENSION),
            Era::Legacy => call.version >= ProtocolVersion::V2025_11_25 && p.task.is_some(),
        };
        let legacy = call.era.modern().is_none();
        match entry.task_support {
            TaskSupport::Forbidden
                if legacy && p.task.is_some() && call.version >= ProtocolVersion::V2025_11_25 =>
            {
                let e = ErrorObject::method_not_found(&format!(
                    "tools/call with a task: tool {} does not run as a task",
                    p.name
                ));
                return sink.error(Some(&call.id), &e);
            }
            TaskSupport::Required if !may_task => {
                let e = if legacy {
                    ErrorObject::method_not_found(&format!(
                        "tools/call without a task: tool {} only runs as a task",
                        p.name
                    ))
                } else {
                    ErrorObject::new(code::MISSING_CLIENT_CAPABILITY, format!("tool {} only runs as a task: declare the {TASKS_EXTENSION} extension", p.name))
                        .with_data(json!({ "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } } }))
                };
                return sink.error(Some(&call.id), &e);
            }
            _ => {}
        }
        let task_mode = (entry.task_support != TaskSupport::Forbidden && may_task)
            .then_some(TaskMode { legacy });
        let auto_task = task_mode.is_some() && !entry.task_deferred;
        let handler = entry.handler.clone();
        let this = self.clone();
        let version = call.version;
        let era = call.era.clone();
        let binding = format!("tools/call\0{}", p.name);
        let Some(round) = self.round(sink, &call, &binding, p.input_responses, p.request_state)
        else {
            return;
        };
        let asking = self.asking(&call.era, binding);
        self.spawn_call(sink, call, p.meta.as_ref(), round, task_mode, move |ctx| {
            Box::pin(async move {
                let call = Call {
                    id: RequestId::number(0),
                    era,
                    version,
                };
                if auto_task {
                    if let Err(e) = ctx.become_task() {
                        return failure(e, version, &asking);
                    }
                }
                let result = match handler(ctx, args).await {
                    Ok(r) => r,
                    Err(HandlerError::Failed(msg)) => CallToolResult::error(msg),
                    Err(HandlerError::InvalidParams(msg))
                        if version.validation_errors_as_tool_results() =>
                    {
                        CallToolResult::error(format!("Invalid arguments: {msg}"))
                    }
                    Err(e) => return failure(e, version, &asking),
                };
                Ok(this.tool_result_bytes(&call, result))
            })
        });
    }

    /// How an `input_required` answer of this call is written: its envelope and state seal.
    fn asking(&self, era: &Era, binding: String) -> Asking {
        let mut envelope = self.shape.envelope(era, false);
        envelope.result_type = Some(ResultType::InputRequired);
        Asking {
            envelope,
            seal: self.seal.clone(),
            binding,
        }
    }

    /// The answers and verified state of a 2026-07-28 retry; `None` after answering a tampered
    /// state with -32602.
    fn round(
        &self,
        sink: &Sink,
        call: &Call,
        binding: &str,
        responses: Option<Map<String, Value>>,
        sealed: Option<String>,
    ) -> Option<Round> {
        let state = match sealed {
            None => None,
            Some(sealed) => match self.seal.open(binding, &sealed) {
                Some(plain) => Some(plain),
                None => {
                    tracing::debug!(id = ?call.id, "requestState failed its integrity check");
                    sink.error(
                        Some(&call.id),
                        &ErrorObject::invalid_params("requestState integrity check failed"),
                    );
                    return None;
                }
            },
        };
        Some(Round { responses, state })
    }

    fn tool_result_bytes(&self, call: &Call, mut result: CallToolResult) -> Vec<u8> {
        if !call.version.has_structured_output() {
            result.structured_content = None;
            result
                .content
                .retain(|c| !matches!(c, Content::ResourceLink { .. }));
        }
        if !call.version.has_audio_and_annotations() {
            result
                .content
                .retain(|c| !matches!(c, Content::Audio { .. }));
        }
        to_bytes(&Enveloped {
            inner: &result,
            envelope: self.shape.envelope(&call.era, false),
        })
    }

    fn read_resource(self: &Rc<Self>, sink: &Sink, call: Call, p: ReadResourceParams) {
        let not_found = |version: ProtocolVersion, uri: &str| {
            ErrorObject::new(version.resource_not_found_code(), "Resource not found")
                .with_data(json!({ "uri": uri }))
        };
        let Some((read, vars)) = self.registry.reader(&p.uri) else {
            return sink.error(Some(&call.id), &not_found(call.version, &p.uri));
        };
        // Results of a multi round-trip retry must not be cached.
        let envelope = self.shape.envelope(&call.era, p.input_responses.is_none());
        let binding = format!("resources/read\0{}", p.uri);
        let Some(round) = self.round(sink, &call, &binding, p.input_responses, p.request_state)
        else {
            return;
        };
        let asking = self.asking(&call.era, binding);
        let version = call.version;
        let uri = p.uri;
        self.spawn_call(sink, call, p.meta.as_ref(), round, None, move |ctx| {
            Box::pin(async move {
                match read(ctx, uri.clone(), vars).await {
                    Ok(contents) if contents.is_empty() => Err(not_found(version, &uri)),
                    Ok(contents) => Ok(to_bytes(&ReadResourceResult { contents, envelope })),
                    Err(HandlerError::NotFound(_)) => Err(not_found(version, &uri)),
                    Err(e) => failure(e, version, &asking),
                }
            })
        });
    }

    fn get_prompt(self: &Rc<Self>, sink: &Sink, call: Call, p: GetPromptParams) {
        let Some(entry) = self.registry.prompt(&p.name) else {
            return sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!("Unknown prompt: {}", p.name)),
            );
        };
        let args = p.arguments.unwrap_or_default();
        let missing: Vec<&str> = entry
            .prompt
            .arguments
            .iter()
            .filter(|a| a.required && !args.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            let e = ErrorObject::invalid_params(format!(
                "missing required argument(s): {}",
                missing.join(", ")
            ));
            return sink.error(Some(&call.id), &e);
        }
        let get = entry.get.clone();
        let envelope = self.shape.envelope(&call.era, false);
        let binding = format!("prompts/get\0{}", p.name);
        let Some(round) = self.round(sink, &call, &binding, p.input_responses, p.request_state)
        else {
            return;
        };
        let asking = self.asking(&call.era, binding);
        let version = call.version;
        self.spawn_call(sink, call, p.meta.as_ref(), round, None, move |ctx| {
            Box::pin(async move {
                match get(ctx, args).await {
                    Ok(mut result) => {
                        result.envelope = envelope;
                        Ok(to_bytes(&result))
                    }
                    Err(e) => failure(e, version, &asking),
                }
            })
        });
    }
}

/// A handler's failure as the request's answer: an `input_required` result when it needs input
/// (2026-07-28), -32021 when the client lacks a capability, otherwise an error.
fn failure(
    e: HandlerError,
    version: ProtocolVersion,
    asking: &Asking,
) -> Result<Vec<u8>, ErrorObject> {
    match e {
        HandlerError::InputRequired { requests, state } if version.is_modern() => {
            Ok(to_bytes(&InputRequiredResult {
                input_requests: requests.into_iter().collect(),
                request_state: state.map(|s| asking.seal.seal(&asking.binding, &s)),
                envelope: asking.envelope.clone(),
            }))
        }
        e => Err(handler_error(e, version)),
    }
}

fn handler_error(e: HandlerError, version: ProtocolVersion) -> ErrorObject {
    match e {
        HandlerError::MissingCapability(cap) => ErrorObject::new(
            code::MISSING_CLIENT_CAPABILITY,
            format!(
                "this request needs the client capability {cap}, which the client did not declare"
            ),
        )
        .with_data(json!({ "requiredCapabilities": { cap: {} } })),
        HandlerError::InputRequired { .. } => {
            ErrorObject::internal("input from the client is only requested this way on 2026-07-28")
        }
        HandlerError::Failed(m) => ErrorObject::internal(m),
        HandlerError::InvalidParams(m) => ErrorObject::invalid_params(m),
        HandlerError::NotFound(m) => {
            ErrorObject::new(version.resource_not_found_code(), format!("Not found: {m}"))
        }
        HandlerError::Internal(m) => ErrorObject::internal(m),
    }
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "result could not be serialised");
        b"{}".to_vec()
    })
}

fn downgrade_tool(tool: &Tool, version: ProtocolVersion) -> Tool {
    let mut t = tool.clone();
    if !version.has_structured_output() {
        t.title = None;
        t.output_schema = None;
    }
    if !version.has_audio_and_annotations() {
        t.annotations = None;
    }
    t
}
