//! Tasks: tool calls that outlive their request. [`TaskTable`] is one shard's side of them: it
//! mints task ids (the id names the shard, so HTTP routing can forward `tasks/*` to the owner),
//! keeps what outlives the shard in a [`TaskStore`], and keeps the live part of the tasks this
//! shard runs ([`LiveTask`]: the cancel token, the handler's futures waiting for answers, the
//! wakers waiting for the end) in a map keyed by task id. The live part reads and writes the
//! stored part only through the store; a task leaves the map as soon as it is terminal.
//!
//! A tool call becomes a task by escalation: the request is answered at once with the task, and
//! the handler's future keeps running, now cancelled by `tasks/cancel` instead of by its request.
//! Inputs it asks for while it runs are parked on the task (`tasks/get` shows them, `tasks/update`
//! answers them). Serves both the 2026-07-28 extension and the 2025-11-25 experimental tasks; the
//! wire shapes are `task_results.rs`'s.

use super::cancel::CancelToken;
use super::ids;
use super::session::{ClientReply, Session};
use crate::store::{Changed, Lookup, StoreError, TaskChange, TaskInfo, TaskState, TaskStore};
use ringmcp_proto::jsonrpc::{code, ErrorObject};
use ringmcp_proto::types::{InputRequest, TaskStatus};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tasks asked of the store per page when a session lists its own.
const LIST_PAGE: usize = 100;

fn now_iso() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A fresh id (see [`ids`]), or -32603 when the OS has no randomness to give.
fn fresh_id(shard: usize) -> Result<String, ErrorObject> {
    ids::mint(None, shard).ok_or_else(|| ErrorObject::internal("no randomness for a task id"))
}

/// Run `f` on a lookup's answer: at once when it is at hand, in a shard-local task once the
/// store replies otherwise.
pub(crate) fn settle<T: 'static>(lookup: Lookup<T>, f: impl FnOnce(T) + 'static) {
    match lookup.now() {
        Ok(value) => f(value),
        Err(later) => {
            glommio::spawn_local(async move { f(later.await) }).detach();
        }
    }
}

/// A lookup's answer, awaited only when it is not at hand (the hit path allocates nothing).
pub(crate) async fn resolve<T: 'static>(lookup: Lookup<T>) -> T {
    match lookup.now() {
        Ok(value) => value,
        Err(later) => later.await,
    }
}

/// `f` applied to a lookup's answer, at once when it is at hand.
fn then<T: 'static, U: 'static>(lookup: Lookup<T>, f: impl FnOnce(T) -> U + 'static) -> Lookup<U> {
    match lookup.now() {
        Ok(value) => Lookup::Ready(f(value)),
        Err(later) => Lookup::Later(Box::pin(async move { f(later.await) })),
    }
}

/// A store that could not answer, as the client sees it: -32000 naming the cause.
pub(crate) fn store_error(e: StoreError) -> ErrorObject {
    match e {
        StoreError::Full(what) => ErrorObject::new(code::SERVER_BUSY, what),
        other => {
            tracing::warn!(error = %other, "task store");
            ErrorObject::new(code::SERVER_BUSY, other.to_string())
        }
    }
}

/// The live part of a task this shard runs.
pub(crate) struct LiveTask {
    /// The task id (owner shard in its first two hex digits).
    pub id: String,
    table: Weak<TaskTable>,
    /// The handler's inputs waiting for `tasks/update`, by key.
    pending: RefCell<Vec<(String, ClientReply)>>,
    next_key: Cell<u32>,
    cancel: CancelToken,
    finished: RefCell<Vec<Waker>>,
    done: Cell<bool>,
}

impl LiveTask {
    /// The token `tasks/cancel` fires.
    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// The handler finished with a result (tool errors included).
    pub(crate) fn complete(&self, result: Box<RawValue>) -> Lookup<()> {
        self.end(TaskChange::Complete(result))
    }

    /// The handler failed with a protocol error.
    pub(crate) fn fail(&self, error: ErrorObject) -> Lookup<()> {
        self.end(TaskChange::Fail(error))
    }

    /// Store the handler's last word; whatever the store says, nothing of the task is left to
    /// run here.
    fn end(&self, change: TaskChange) -> Lookup<()> {
        let Some(table) = self.table.upgrade() else {
            return Lookup::Ready(());
        };
        let id = self.id.clone();
        then(table.store.update(&id, change, &now_iso()), move |r| {
            if let Err(e) = r {
                tracing::error!(task = %&id[..8.min(id.len())], error = %e, "task outcome not stored");
            }
            table.finish(&id, false);
        })
    }

    /// Park inputs on the task; resolves with the answers by key once all are answered (`None`
    /// if the store lost the task).
    pub(crate) fn ask(
        &self,
        requests: Vec<(String, InputRequest)>,
    ) -> impl Future<Output = Option<Map<String, Value>>> {
        let replies: Vec<(String, ClientReply)> = requests
            .iter()
            .map(|(key, _)| {
                let reply = ClientReply::default();
                self.pending.borrow_mut().push((key.clone(), reply.clone()));
                (key.clone(), reply)
            })
            .collect();
        let stored = self.table.upgrade().map(|t| {
            t.store
                .update(&self.id, TaskChange::Ask(requests), &now_iso())
        });
        async move {
            match stored {
                Some(stored) => match resolve(stored).await {
                    // An ended task waits for nothing: no answer will come.
                    Ok(Some(c)) if c.from.is_terminal() => return None,
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(error = %e, "task inputs not stored");
                        return None;
                    }
                },
                None => return None,
            }
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

    /// Resolves once the task is terminal.
    fn finished(self: &Rc<Self>) -> impl Future<Output = ()> {
        Finished { task: self.clone() }
    }
}

struct Finished {
    task: Rc<LiveTask>,
}

impl Future for Finished {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.task.done.get() {
            return Poll::Ready(());
        }
        self.task.finished.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// One shard's tasks: the store and the live part of those it runs.
pub(crate) struct TaskTable {
    shard: usize,
    store: Rc<dyn TaskStore>,
    live: RefCell<HashMap<String, Rc<LiveTask>>>,
    /// How long a task is kept after it was created (at least until it is terminal).
    ttl: Duration,
    /// Suggested polling interval.
    poll: Duration,
}

impl TaskTable {
    /// The tasks of `shard`, kept in `store`; expired ones are swept from time to time.
    pub(crate) fn new(
        shard: usize,
        store: Rc<dyn TaskStore>,
        ttl: Duration,
        poll: Duration,
    ) -> Rc<Self> {
        let table = Rc::new(TaskTable {
            shard,
            store,
            live: RefCell::new(HashMap::new()),
            ttl,
            poll,
        });
        let weak = Rc::downgrade(&table);
        let every = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(every).await;
                let Some(table) = weak.upgrade() else { break };
                table.store.expire(millis(SystemTime::now()));
            }
        })
        .detach();
        table
    }

    /// Create a task (owned by `owner` when a 2025-11-25 session may list it) and store it;
    /// `announce` tells the client once it is stored. When the store answers at once, announce
    /// runs before this returns and a refusal is this call's error; otherwise the handler runs
    /// on while the store answers, and a refusal is announced and cancels the task.
    pub(crate) fn create(
        self: &Rc<Self>,
        owner: Option<&Session>,
        announce: impl FnOnce(Result<TaskInfo, ErrorObject>) + 'static,
    ) -> Result<Rc<LiveTask>, ErrorObject> {
        let id = fresh_id(self.shard)?;
        let owner = match owner {
            Some(session) => Some(owner_key(session)?),
            None => None,
        };
        let now = SystemTime::now();
        let at = humantime::format_rfc3339_millis(now).to_string();
        let info = TaskInfo {
            id: id.clone(),
            owner,
            status: TaskStatus::Working,
            status_message: None,
            created_at: at.clone(),
            updated_at: at,
            created_ms: millis(now),
            ttl_ms: u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX),
            poll_ms: u64::try_from(self.poll.as_millis()).unwrap_or(u64::MAX),
        };
        let stored = self.store.create(TaskState::new(info.clone()));
        let live = Rc::new(LiveTask {
            id: id.clone(),
            table: Rc::downgrade(self),
            pending: RefCell::new(Vec::new()),
            next_key: Cell::new(0),
            cancel: CancelToken::new(),
            finished: RefCell::new(Vec::new()),
            done: Cell::new(false),
        });
        match stored.now() {
            Ok(Err(e)) => return Err(store_error(e)),
            Ok(Ok(())) => {
                self.live.borrow_mut().insert(id, live.clone());
                announce(Ok(info));
            }
            Err(later) => {
                self.live.borrow_mut().insert(id.clone(), live.clone());
                let table = self.clone();
                glommio::spawn_local(async move {
                    match later.await {
                        Ok(()) => announce(Ok(info)),
                        Err(e) => {
                            table.finish(&id, true);
                            announce(Err(store_error(e)));
                        }
                    }
                })
                .detach();
            }
        }
        Ok(live)
    }

    /// The stored task named `id`.
    pub(crate) fn load(&self, id: &str) -> Lookup<Result<Option<TaskState>, StoreError>> {
        self.store.load(id)
    }

    /// `tasks/update`: answer the task's inputs (unknown keys are ignored). Answered keys
    /// disappear at once; the task is working again when none is left. `Ok(None)`: no such task.
    pub(crate) fn answer(
        self: &Rc<Self>,
        id: &str,
        responses: Map<String, Value>,
    ) -> Lookup<Result<Option<Changed>, StoreError>> {
        let keys = responses.keys().cloned().collect();
        let stored = self.store.update(id, TaskChange::Answer(keys), &now_iso());
        let (table, id) = (self.clone(), id.to_owned());
        then(stored, move |r| {
            if let (Ok(Some(_)), Some(live)) = (&r, table.live(&id)) {
                let mut answered = Vec::new();
                live.pending
                    .borrow_mut()
                    .retain(|(key, reply)| match responses.get(key) {
                        Some(v) => {
                            answered.push((reply.clone(), v));
                            false
                        }
                        None => true,
                    });
                for (reply, value) in answered {
                    let raw = RawValue::from_string(value.to_string())
                        .unwrap_or_else(|_| RawValue::NULL.to_owned());
                    reply.fulfil(Ok(raw));
                }
            }
            r
        })
    }

    /// `tasks/cancel`: terminal at once, and the running handler is stopped. `Ok(None)`: no
    /// such task; [`Changed::from`] tells whether it had already ended.
    pub(crate) fn cancel(self: &Rc<Self>, id: &str) -> Lookup<Result<Option<Changed>, StoreError>> {
        let stored = self.store.update(id, TaskChange::Cancel, &now_iso());
        let (table, id) = (self.clone(), id.to_owned());
        then(stored, move |r| {
            if let Ok(Some(c)) = &r {
                if !c.from.is_terminal() {
                    table.finish(&id, true);
                }
            }
            r
        })
    }

    /// The task once it is terminal (`Ok(None)` if it is gone by then). A task this shard runs
    /// is waited for; one it does not is polled at the suggested interval.
    pub(crate) async fn finished(&self, id: &str) -> Result<Option<TaskState>, StoreError> {
        loop {
            if let Some(live) = self.live(id) {
                live.finished().await;
            }
            match resolve(self.store.load(id)).await? {
                Some(task) if !task.info.status.is_terminal() => {
                    glommio::timer::sleep(self.poll).await;
                }
                task => return Ok(task),
            }
        }
    }

    /// The tasks `session` created (2025-11-25 `tasks/list`), oldest first, every page of them.
    pub(crate) fn owned_by(
        self: &Rc<Self>,
        session: &Session,
    ) -> Lookup<Result<Vec<TaskInfo>, StoreError>> {
        let Some(owner) = session.task_owner.get() else {
            return Lookup::Ready(Ok(Vec::new()));
        };
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            match self.store.list(owner, after.as_deref(), LIST_PAGE).now() {
                Ok(Err(e)) => return Lookup::Ready(Err(e)),
                Ok(Ok(page)) => {
                    all.extend(page.tasks);
                    match page.next {
                        Some(next) => after = Some(next),
                        None => return Lookup::Ready(Ok(all)),
                    }
                }
                Err(later) => {
                    let (table, owner) = (self.clone(), owner.clone());
                    return Lookup::Later(Box::pin(async move {
                        let mut page = later.await?;
                        loop {
                            all.extend(page.tasks);
                            let Some(next) = page.next else {
                                return Ok(all);
                            };
                            page =
                                resolve(table.store.list(&owner, Some(&next), LIST_PAGE)).await?;
                        }
                    }));
                }
            }
        }
    }

    fn live(&self, id: &str) -> Option<Rc<LiveTask>> {
        self.live.borrow().get(id).cloned()
    }

    /// The task ended: wake whoever waits for the end, drop its parked inputs, and stop its
    /// handler when it was cancelled.
    fn finish(&self, id: &str, cancel: bool) {
        let Some(live) = self.live.borrow_mut().remove(id) else {
            return;
        };
        live.done.set(true);
        live.pending.borrow_mut().clear();
        if cancel {
            live.cancel.cancel();
        }
        for w in live.finished.borrow_mut().drain(..) {
            w.wake();
        }
    }
}

/// Who `session` is to the task store, minted with its first task.
fn owner_key(session: &Session) -> Result<String, ErrorObject> {
    if let Some(key) = session.task_owner.get() {
        return Ok(key.clone());
    }
    let key = fresh_id(0)?;
    Ok(session.task_owner.get_or_init(|| key).clone())
}
