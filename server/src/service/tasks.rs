//! Tasks: tool calls that outlive their request. [`TaskStore`] holds one shard's tasks (the id
//! names the shard, so HTTP routing can forward `tasks/*` to the owner); a [`TaskRecord`] is one
//! task's state machine: working -> input_required <-> working -> completed | failed | cancelled.
//!
//! A tool call becomes a task by escalation: the request is answered at once with the task, and
//! the handler's future keeps running, now cancelled by `tasks/cancel` instead of by its request.
//! Inputs it asks for while it runs are parked on the task (`tasks/get` shows them, `tasks/update`
//! answers them). Serves both the 2026-07-28 extension and the 2025-11-25 experimental tasks.

use super::cancel::CancelToken;
use super::session::{ClientReply, Session};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::{InputRequest, TaskStatus, RELATED_TASK_KEY};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

fn now_iso() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

struct PendingInput {
    key: String,
    request: InputRequest,
    reply: ClientReply,
}

/// One task.
pub(crate) struct TaskRecord {
    /// The task id (owner shard in its first two hex digits).
    pub id: String,
    status: Cell<TaskStatus>,
    status_message: RefCell<Option<String>>,
    created_at: String,
    updated_at: RefCell<String>,
    created: Instant,
    ttl: Duration,
    poll: Duration,
    result: RefCell<Option<Box<RawValue>>>,
    error: RefCell<Option<ErrorObject>>,
    pending: RefCell<Vec<PendingInput>>,
    next_key: Cell<u32>,
    cancel: CancelToken,
    finished: RefCell<Vec<Waker>>,
    /// The legacy session that created it (2025-11-25 `tasks/list` shows a session its own tasks).
    owner: Option<Weak<Session>>,
}

impl TaskRecord {
    /// Current status.
    pub(crate) fn status(&self) -> TaskStatus {
        self.status.get()
    }

    /// The token `tasks/cancel` fires.
    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    fn set_status(&self, status: TaskStatus, message: Option<String>) {
        if self.status.get().is_terminal() {
            return;
        }
        self.status.set(status);
        *self.status_message.borrow_mut() = message;
        *self.updated_at.borrow_mut() = now_iso();
        if status.is_terminal() {
            self.pending.borrow_mut().clear();
            for w in self.finished.borrow_mut().drain(..) {
                w.wake();
            }
        }
    }

    /// The handler finished with a result (tool errors included).
    pub(crate) fn complete(&self, result: Box<RawValue>) {
        if !self.status.get().is_terminal() {
            *self.result.borrow_mut() = Some(result);
            self.set_status(TaskStatus::Completed, None);
        }
    }

    /// The handler failed with a protocol error.
    pub(crate) fn fail(&self, error: ErrorObject) {
        if !self.status.get().is_terminal() {
            let message = error.message.clone();
            *self.error.borrow_mut() = Some(error);
            self.set_status(TaskStatus::Failed, Some(message));
        }
    }

    /// Cancel: terminal at once; the running handler is stopped.
    pub(crate) fn cancel(&self) {
        if !self.status.get().is_terminal() {
            self.set_status(
                TaskStatus::Cancelled,
                Some("cancelled by the client".into()),
            );
            self.cancel.cancel();
        }
    }

    /// Park inputs on the task; resolves with the answers by key once all are answered.
    pub(crate) fn ask(
        &self,
        requests: Vec<(String, InputRequest)>,
    ) -> impl Future<Output = Option<Map<String, Value>>> {
        let replies: Vec<(String, ClientReply)> = requests
            .into_iter()
            .map(|(key, request)| {
                let reply = ClientReply::default();
                self.pending.borrow_mut().push(PendingInput {
                    key: key.clone(),
                    request,
                    reply: reply.clone(),
                });
                (key, reply)
            })
            .collect();
        self.set_status(TaskStatus::InputRequired, None);
        async move {
            let mut answers = Map::new();
            for (key, reply) in replies {
                let raw = reply.await.ok()?;
                answers.insert(key, serde_json::from_str(raw.get()).unwrap_or(Value::Null));
            }
            Some(answers)
        }
    }

    /// A fresh input key, unique over the task's life.
    pub(crate) fn next_key(&self, prefix: &str) -> String {
        let n = self.next_key.get() + 1;
        self.next_key.set(n);
        format!("{prefix}-{n}")
    }

    /// `tasks/update`: answer parked inputs (unknown keys are ignored). Answered keys disappear at
    /// once; the task is working again when none is left.
    pub(crate) fn answer(&self, responses: &Map<String, Value>) {
        let mut answered = Vec::new();
        self.pending
            .borrow_mut()
            .retain(|p| match responses.get(&p.key) {
                Some(v) => {
                    answered.push((p.reply.clone(), v.clone()));
                    false
                }
                None => true,
            });
        let none_left = self.pending.borrow().is_empty();
        if !answered.is_empty() && none_left && self.status.get() == TaskStatus::InputRequired {
            self.set_status(TaskStatus::Working, None);
        }
        for (reply, value) in answered {
            let raw = RawValue::from_string(value.to_string())
                .unwrap_or_else(|_| RawValue::NULL.to_owned());
            reply.fulfil(Ok(raw));
        }
    }

    /// Resolves once the task is terminal.
    pub(crate) fn finished(self: &Rc<Self>) -> impl Future<Output = ()> {
        Finished { task: self.clone() }
    }

    fn base(&self, modern: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("taskId".into(), json!(self.id));
        m.insert("status".into(), json!(self.status.get()));
        if let Some(msg) = self.status_message.borrow().as_ref() {
            m.insert("statusMessage".into(), json!(msg));
        }
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("lastUpdatedAt".into(), json!(*self.updated_at.borrow()));
        let ttl = self.ttl.as_millis() as u64;
        let poll = self.poll.as_millis() as u64;
        if modern {
            m.insert("ttlMs".into(), json!(ttl));
            m.insert("pollIntervalMs".into(), json!(poll));
        } else {
            m.insert("ttl".into(), json!(ttl));
            m.insert("pollInterval".into(), json!(poll));
        }
        m
    }

    /// The 2026-07-28 `CreateTaskResult` (flat, `resultType: "task"`).
    pub(crate) fn created_modern(&self, server_meta: &RawValue) -> Value {
        let mut m = self.base(true);
        m.insert("resultType".into(), json!("task"));
        m.insert(
            "_meta".into(),
            serde_json::from_str(server_meta.get()).unwrap_or(Value::Null),
        );
        Value::Object(m)
    }

    /// The 2025-11-25 `CreateTaskResult` (`{task: {...}}`).
    pub(crate) fn created_legacy(&self) -> Value {
        json!({ "task": Value::Object(self.base(false)) })
    }

    /// 2026-07-28 `tasks/get`: the task plus its inputs, result or error.
    pub(crate) fn detailed_modern(&self, server_meta: &RawValue) -> Value {
        let mut m = self.base(true);
        m.insert("resultType".into(), json!("complete"));
        match self.status.get() {
            TaskStatus::InputRequired => {
                let inputs: Map<String, Value> = self
                    .pending
                    .borrow()
                    .iter()
                    .map(|p| {
                        (
                            p.key.clone(),
                            serde_json::to_value(&p.request).unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                m.insert("inputRequests".into(), Value::Object(inputs));
            }
            TaskStatus::Completed => {
                if let Some(r) = self.result.borrow().as_ref() {
                    m.insert(
                        "result".into(),
                        serde_json::from_str(r.get()).unwrap_or(Value::Null),
                    );
                }
            }
            TaskStatus::Failed => {
                if let Some(e) = self.error.borrow().as_ref() {
                    m.insert(
                        "error".into(),
                        serde_json::to_value(e).unwrap_or(Value::Null),
                    );
                }
            }
            _ => {}
        }
        m.insert(
            "_meta".into(),
            serde_json::from_str(server_meta.get()).unwrap_or(Value::Null),
        );
        Value::Object(m)
    }

    /// 2025-11-25 `tasks/get` and `tasks/cancel`: the task, flat.
    pub(crate) fn legacy_task(&self) -> Value {
        Value::Object(self.base(false))
    }

    /// 2025-11-25 `tasks/result` once terminal: the call's own result with the related-task
    /// `_meta`, or its error.
    pub(crate) fn legacy_payload(&self) -> Result<Value, ErrorObject> {
        if let Some(e) = self.error.borrow().as_ref() {
            return Err(e.clone());
        }
        let mut result: Value = match self.result.borrow().as_ref() {
            Some(r) => serde_json::from_str(r.get()).unwrap_or(Value::Null),
            None => {
                return Err(ErrorObject::invalid_params(format!(
                    "task {} was cancelled",
                    self.id
                )))
            }
        };
        if let Some(obj) = result.as_object_mut() {
            obj.remove("resultType");
            let meta = obj.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(RELATED_TASK_KEY.into(), json!({ "taskId": self.id }));
            }
        }
        Ok(result)
    }

    fn expired(&self, now: Instant) -> bool {
        self.status.get().is_terminal() && now.duration_since(self.created) > self.ttl
    }
}

struct Finished {
    task: Rc<TaskRecord>,
}

impl Future for Finished {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.task.status.get().is_terminal() {
            return Poll::Ready(());
        }
        self.task.finished.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Tasks owned by one shard.
pub(crate) struct TaskStore {
    shard: usize,
    tasks: RefCell<HashMap<String, Rc<TaskRecord>>>,
    /// How long a task is kept after it was created (at least until it is terminal).
    pub ttl: Duration,
    /// Suggested polling interval.
    pub poll: Duration,
    /// Tasks one shard holds at most.
    pub max_tasks: usize,
}

impl TaskStore {
    /// An empty store for `shard`.
    pub(crate) fn new(shard: usize, ttl: Duration, poll: Duration, max_tasks: usize) -> Rc<Self> {
        let store = Rc::new(TaskStore {
            shard,
            tasks: RefCell::new(HashMap::new()),
            ttl,
            poll,
            max_tasks,
        });
        let weak = Rc::downgrade(&store);
        let every = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(every).await;
                let Some(store) = weak.upgrade() else { break };
                let now = Instant::now();
                store.tasks.borrow_mut().retain(|_, t| !t.expired(now));
            }
        })
        .detach();
        store
    }

    /// Create and store a task (stored before anyone is told about it).
    pub(crate) fn create(
        &self,
        owner: Option<&Rc<Session>>,
    ) -> Result<Rc<TaskRecord>, ErrorObject> {
        if self.tasks.borrow().len() >= self.max_tasks {
            return Err(ErrorObject::new(
                ringmcp_proto::jsonrpc::code::SERVER_BUSY,
                "too many tasks",
            ));
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|_| ErrorObject::internal("no randomness for a task id"))?;
        let mut id = format!("{:02x}", self.shard);
        for b in bytes {
            id.push_str(&format!("{b:02x}"));
        }
        let now = now_iso();
        let record = Rc::new(TaskRecord {
            id: id.clone(),
            status: Cell::new(TaskStatus::Working),
            status_message: RefCell::new(None),
            created_at: now.clone(),
            updated_at: RefCell::new(now),
            created: Instant::now(),
            ttl: self.ttl,
            poll: self.poll,
            result: RefCell::new(None),
            error: RefCell::new(None),
            pending: RefCell::new(Vec::new()),
            next_key: Cell::new(0),
            cancel: CancelToken::new(),
            finished: RefCell::new(Vec::new()),
            owner: owner.map(Rc::downgrade),
        });
        self.tasks.borrow_mut().insert(id, record.clone());
        Ok(record)
    }

    /// A task by id.
    pub(crate) fn get(&self, id: &str) -> Option<Rc<TaskRecord>> {
        self.tasks.borrow().get(id).cloned()
    }

    /// The tasks a legacy session created, oldest first.
    pub(crate) fn of_session(&self, session: &Rc<Session>) -> Vec<Rc<TaskRecord>> {
        let mut list: Vec<Rc<TaskRecord>> = self
            .tasks
            .borrow()
            .values()
            .filter(|t| {
                t.owner
                    .as_ref()
                    .and_then(Weak::upgrade)
                    .is_some_and(|s| Rc::ptr_eq(&s, session))
            })
            .cloned()
            .collect();
        list.sort_by_key(|t| t.created);
        list
    }
}
