//! [`RequestContext`]: what a handler can do besides returning a value: report progress, log to the
//! client, notice that the client cancelled, and publish resource updates to every shard.

use super::error::HandlerError;
use super::live::LiveRegistry;
use crate::service::{
    CancelHost, CancelState, CancelToken, LiveTask, MsgKind, Outlet, Session, ShardCtx,
};
use ringmcp_proto::types::{
    InputRequest, LogLevel, LoggingMessageParams, CREATE_MESSAGE, ELICIT, LIST_ROOTS,
};
use ringmcp_proto::{dispatch, jsonrpc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Handed to every handler call.
#[derive(Clone)]
pub struct RequestContext {
    inner: Rc<Inner>,
}

/// How this request gets input from the client.
pub(crate) enum InputMode {
    /// 2026-07-28: answers come with the retried request; missing ones end the call with
    /// `input_required`.
    Modern {
        /// The request's declared client capabilities.
        capabilities: Box<RawValue>,
        /// `inputResponses` of this attempt.
        responses: Option<Map<String, Value>>,
        /// The verified `requestState` of this attempt.
        state: Option<String>,
    },
    /// Legacy session: a real JSON-RPC request to the client, answered on the same connection.
    /// The capabilities the client declared in `initialize` are read from the session when
    /// asked for, not copied per call.
    Legacy {
        /// How long to wait for the client's answer.
        timeout: Duration,
    },
}

impl InputMode {
    fn capabilities(&self, session: &Session) -> Value {
        match self {
            InputMode::Modern { capabilities, .. } => {
                serde_json::from_str(capabilities.get()).unwrap_or(Value::Null)
            }
            InputMode::Legacy { .. } => session.legacy.borrow().client_capabilities().clone(),
        }
    }

    fn has_capability(&self, session: &Session, name: &str) -> bool {
        match self {
            InputMode::Modern { capabilities, .. } => {
                dispatch::object_member(capabilities.get(), name).is_some()
            }
            InputMode::Legacy { .. } => {
                let legacy = session.legacy.borrow();
                let capabilities = legacy.client_capabilities();
                capabilities.get(name).is_some_and(|v| !v.is_null())
            }
        }
    }
}

/// Builds an `input_required` answer asking for several inputs at once (2026-07-28).
pub struct InputRequiredBuilder {
    requests: Vec<(String, InputRequest)>,
    state: Option<String>,
    single_use: bool,
}

impl InputRequiredBuilder {
    /// Ask the user (`elicitation/create`, form mode) under `key`.
    pub fn elicit(mut self, key: &str, message: &str, requested_schema: Value) -> Self {
        let params =
            json!({ "mode": "form", "message": message, "requestedSchema": requested_schema });
        self.requests.push((
            key.to_owned(),
            InputRequest {
                method: ELICIT.to_owned(),
                params: Some(params),
            },
        ));
        self
    }

    /// Ask the client's model (`sampling/createMessage`) under `key`.
    pub fn create_message(mut self, key: &str, params: Value) -> Self {
        self.requests.push((
            key.to_owned(),
            InputRequest {
                method: CREATE_MESSAGE.to_owned(),
                params: Some(params),
            },
        ));
        self
    }

    /// Ask for the client's roots (`roots/list`) under `key`.
    pub fn list_roots(mut self, key: &str) -> Self {
        self.requests.push((
            key.to_owned(),
            InputRequest {
                method: LIST_ROOTS.to_owned(),
                params: Some(json!({})),
            },
        ));
        self
    }

    /// State to receive back with the answers ([`RequestContext::request_state`]).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Accept this answer's state back once only: a retry that brings the same `requestState`
    /// a second time is refused with -32602 "requestState already used" before the handler runs
    /// (on every node of a cluster: the spent state is recorded in Redis). For answers that
    /// authorise an action (approve a payment, confirm a deletion), so that a captured retry
    /// cannot repeat it. A single-use answer always carries a state (an empty one when
    /// [`Self::state`] was not set); the handler should act only when
    /// [`RequestContext::request_state`] is the state it set, or a retry that drops the state
    /// escapes the check. Every state is also bound to the request's method, name and
    /// principal, and expires (`--request-state-ttl-secs`).
    pub fn single_use(mut self) -> Self {
        self.single_use = true;
        self
    }

    /// The error that ends this attempt with `resultType: "input_required"`.
    pub fn build(self) -> HandlerError {
        HandlerError::InputRequired {
            requests: self.requests,
            state: self.state,
            single_use: self.single_use,
        }
    }
}

/// Turns the running call into a task (installed by the engine when the call may become one).
pub(crate) type Escalate = Box<dyn FnOnce() -> Result<Rc<LiveTask>, HandlerError>>;

struct Inner {
    input: InputMode,
    escalate: RefCell<Option<Escalate>>,
    task: RefCell<Option<Rc<LiveTask>>>,
    inputs_asked: Cell<u32>,
    session: Rc<Session>,
    outlet: Rc<dyn Outlet>,
    shard: Rc<ShardCtx>,
    progress_token: Option<Value>,
    log_level: Option<LogLevel>,
    /// Its request's cancellation, here so that the token in the session's in-flight table
    /// ([`RequestContext::cancel_token`]) costs no allocation of its own.
    cancel: CancelState,
    last_progress: Cell<f64>,
    /// The server's set, when it may change while it runs: the shard's own handle on the live set: cloning it is a plain count, not an atomic one
    /// on memory every shard shares.
    live: Option<Rc<LiveRegistry>>,
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
        input: InputMode,
        session: Rc<Session>,
        outlet: Rc<dyn Outlet>,
        shard: Rc<ShardCtx>,
        progress_token: Option<Value>,
        log_level: Option<LogLevel>,
    ) -> Self {
        RequestContext {
            inner: Rc::new(Inner {
                input,
                escalate: RefCell::new(None),
                task: RefCell::new(None),
                inputs_asked: Cell::new(0),
                session,
                outlet,
                shard,
                progress_token,
                log_level,
                cancel: CancelState::default(),
                last_progress: Cell::new(f64::NEG_INFINITY),
                live: None,
            }),
        }
    }

    /// Give the handler the server's live set ([`Self::live_registry`]).
    pub(crate) fn with_live_registry(mut self, live: Option<&Rc<LiveRegistry>>) -> Self {
        if let (Some(live), Some(inner)) = (live, Rc::get_mut(&mut self.inner)) {
            inner.live = Some(live.clone());
        }
        self
    }

    /// The token that cancels this request: it shares this context's allocation (and keeps it
    /// alive while the session holds it in flight).
    pub(crate) fn cancel_token(&self) -> CancelToken {
        CancelToken::hosted(self.inner.clone())
    }

    /// The server's set of tools, resources and prompts, to change it while the server runs
    /// ([`LiveRegistry::update`]); `None` when it was served fixed, with [`crate::serve`].
    pub fn live_registry(&self) -> Option<&LiveRegistry> {
        self.inner.live.as_deref()
    }

    /// Allow this call to become a task ([`RequestContext::become_task`]).
    pub(crate) fn allow_task(&self, escalate: Escalate) {
        *self.inner.escalate.borrow_mut() = Some(escalate);
    }

    /// Turn this call into a task, if the client and the tool allow it: the request is answered at
    /// once with the task, and this handler goes on running; its result becomes the task's, and
    /// inputs it asks for from now on are parked on the task (`tasks/get`, `tasks/update`).
    /// Returns whether the call is now a task (false: go on synchronously).
    pub fn become_task(&self) -> Result<bool, HandlerError> {
        if self.inner.task.borrow().is_some() {
            return Ok(true);
        }
        let Some(escalate) = self.inner.escalate.borrow_mut().take() else {
            return Ok(false);
        };
        let record = escalate()?;
        *self.inner.task.borrow_mut() = Some(record);
        Ok(true)
    }

    /// The task inputs are parked on: inside a 2026-07-28 task (a 2025-11-25 task asks its
    /// session directly).
    fn parking_task(&self) -> Option<Rc<LiveTask>> {
        let task = self.inner.task.borrow().clone()?;
        matches!(self.inner.input, InputMode::Modern { .. }).then_some(task)
    }

    /// The task this call became, if it did.
    pub fn task_id(&self) -> Option<String> {
        self.inner.task.borrow().as_ref().map(|t| t.id.clone())
    }

    /// Ask several inputs at once and get the answers by key: parked on the task when the call is
    /// one; on 2026-07-28 from the retried request's `inputResponses` (missing ones end this
    /// attempt with `input_required`); on legacy sessions as requests to the client, one by one.
    pub async fn ask(&self, ask: InputRequiredBuilder) -> Result<Map<String, Value>, HandlerError> {
        let InputRequiredBuilder {
            requests,
            state,
            single_use,
        } = ask;
        for (_, r) in &requests {
            let cap = capability_of(&r.method);
            if !self.inner.input.has_capability(&self.inner.session, cap) {
                return Err(HandlerError::MissingCapability(cap.to_owned()));
            }
        }
        if let Some(task) = self.parking_task() {
            return park(&task, requests).await;
        }
        match &self.inner.input {
            InputMode::Modern { responses, .. } => {
                let missing: Vec<(String, InputRequest)> = requests
                    .iter()
                    .filter(|(k, _)| responses.as_ref().is_none_or(|r| !r.contains_key(k)))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Err(HandlerError::InputRequired {
                        requests: missing,
                        state,
                        single_use,
                    });
                }
                Ok(requests
                    .into_iter()
                    .filter_map(|(k, _)| responses.as_ref()?.get(&k).map(|v| (k, v.clone())))
                    .collect())
            }
            InputMode::Legacy { .. } => {
                let mut answers = Map::new();
                for (key, r) in requests {
                    let v = self.legacy_request(&r.method, r.params).await?;
                    answers.insert(key, v);
                }
                Ok(answers)
            }
        }
    }

    /// The caller's `progressToken`, if it gave one.
    pub fn progress_token(&self) -> Option<&Value> {
        self.inner.progress_token.as_ref()
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
        self.inner.outlet.send(MsgKind::Notification, &mut |out| {
            jsonrpc::write_notification(out, "notifications/progress", &params)
        });
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
        self.inner.outlet.send(MsgKind::Notification, &mut |out| {
            jsonrpc::write_notification(out, "notifications/message", &params)
        });
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

    /// The client capabilities of this request (2026-07-28 `_meta`) or session (legacy).
    pub fn client_capabilities(&self) -> Value {
        self.inner.input.capabilities(&self.inner.session)
    }

    /// Whether the client declared a capability (`"elicitation"`, `"sampling"`, `"roots"`).
    pub fn has_client_capability(&self, name: &str) -> bool {
        self.inner.input.has_capability(&self.inner.session, name)
    }

    /// The answers sent with a 2026-07-28 retry (`inputResponses`), by key.
    pub fn input_responses(&self) -> Option<&Map<String, Value>> {
        match &self.inner.input {
            InputMode::Modern { responses, .. } => responses.as_ref(),
            InputMode::Legacy { .. } => None,
        }
    }

    /// The answer under `key`, if the client sent one.
    pub fn input_response(&self, key: &str) -> Option<&Value> {
        self.input_responses()?.get(key)
    }

    /// The state this handler attached to its last `input_required` answer, verified by the server
    /// (a tampered or expired state, or one sealed for another request or principal, never
    /// reaches the handler: the request fails with -32602).
    pub fn request_state(&self) -> Option<&str> {
        match &self.inner.input {
            InputMode::Modern { state, .. } => state.as_deref(),
            InputMode::Legacy { .. } => None,
        }
    }

    /// Start an `input_required` answer naming its own keys, asking several things at once and
    /// carrying state between rounds (2026-07-28). Return `Err(ctx.input_required()...build())`.
    pub fn input_required(&self) -> InputRequiredBuilder {
        InputRequiredBuilder {
            requests: Vec::new(),
            state: None,
            single_use: false,
        }
    }

    /// Ask the user a question through the client (`elicitation/create`, form mode). Returns the
    /// client's `ElicitResult` (`{"action": "accept" | "decline" | "cancel", "content": {...}}`).
    pub async fn elicit(
        &self,
        message: &str,
        requested_schema: Value,
    ) -> Result<Value, HandlerError> {
        let params =
            json!({ "mode": "form", "message": message, "requestedSchema": requested_schema });
        self.input("elicitation", ELICIT, Some(params)).await
    }

    /// Ask the client's model for a completion (`sampling/createMessage`); returns its result.
    pub async fn create_message(&self, params: Value) -> Result<Value, HandlerError> {
        self.input("sampling", CREATE_MESSAGE, Some(params)).await
    }

    /// Ask the client for its roots (`roots/list`); returns its result (`{"roots": [...]}`).
    pub async fn list_roots(&self) -> Result<Value, HandlerError> {
        self.input("roots", LIST_ROOTS, None).await
    }

    /// Input from the client needing `capability`. On 2026-07-28 the answer comes from the
    /// retried request's `inputResponses`, under a key that is stable across attempts (the n-th
    /// input of the call), or the call ends with `input_required`. On legacy sessions the server
    /// sends the request on the connection and waits for the answer.
    async fn input(
        &self,
        capability: &str,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        let n = self.inner.inputs_asked.get() + 1;
        self.inner.inputs_asked.set(n);
        if !self
            .inner
            .input
            .has_capability(&self.inner.session, capability)
        {
            return Err(HandlerError::MissingCapability(capability.to_owned()));
        }
        if let Some(task) = self.parking_task() {
            let key = task.next_key(&method.replace('/', "-"));
            let request = InputRequest {
                method: method.to_owned(),
                params,
            };
            let mut answers = park(&task, vec![(key.clone(), request)]).await?;
            return Ok(answers.remove(&key).unwrap_or(Value::Null));
        }
        match &self.inner.input {
            InputMode::Modern { responses, .. } => {
                let key = format!("{}-{n}", method.replace('/', "-"));
                if let Some(answer) = responses.as_ref().and_then(|r| r.get(&key)) {
                    return Ok(answer.clone());
                }
                Err(HandlerError::InputRequired {
                    requests: vec![(
                        key,
                        InputRequest {
                            method: method.to_owned(),
                            params,
                        },
                    )],
                    state: None,
                    single_use: false,
                })
            }
            InputMode::Legacy { .. } => self.legacy_request(method, params).await,
        }
    }

    /// A JSON-RPC request to the client on a legacy session, and its answer.
    async fn legacy_request(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        let InputMode::Legacy { timeout, .. } = &self.inner.input else {
            return Err(HandlerError::Internal("not a legacy session".into()));
        };
        let session = &self.inner.session;
        let (id, reply) = session.expect_client_answer();
        let params = params.unwrap_or_else(|| json!({}));
        self.inner.outlet.send(MsgKind::Request, &mut |out| {
            jsonrpc::write_request(out, &id, method, &params)
        });
        let timeout = *timeout;
        let answer = futures_lite::future::or(async { Some(reply.await) }, async {
            glommio::timer::sleep(timeout).await;
            None
        })
        .await;
        match answer {
            Some(Ok(raw)) => {
                serde_json::from_str(raw.get()).map_err(|e| HandlerError::Internal(e.to_string()))
            }
            Some(Err(e)) => Err(HandlerError::Failed(format!(
                "the client refused {method}: {}",
                e.message
            ))),
            None => {
                session.forget_client_request(&id);
                Err(HandlerError::Failed(format!(
                    "the client did not answer {method} within {timeout:?}"
                )))
            }
        }
    }

    /// The index of the shard (core) running this handler.
    pub fn shard_id(&self) -> usize {
        self.inner.shard.id
    }

    /// This shard, for calling other MCP servers from the handler without leaving the core
    /// ([`ShardClient::connect`](crate::client::ShardClient::connect) dials on the shard's own
    /// net ring). `None` on a stdio server, whose shard does not dial.
    pub fn shard(&self) -> Option<crate::client::Shard> {
        self.inner.shard.client_shard()
    }
}

/// The client capability an input method needs.
fn capability_of(method: &str) -> &'static str {
    match method {
        CREATE_MESSAGE => "sampling",
        LIST_ROOTS => "roots",
        _ => "elicitation",
    }
}

/// Park inputs on a task until every one is answered (`tasks/update`).
async fn park(
    task: &LiveTask,
    requests: Vec<(String, InputRequest)>,
) -> Result<Map<String, Value>, HandlerError> {
    task.ask(requests)
        .await
        .ok_or_else(|| HandlerError::Failed("the task was cancelled".into()))
}

impl CancelHost for Inner {
    fn cancel_state(&self) -> &CancelState {
        &self.cancel
    }
}
