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
//!
//! With a store shared by the nodes of a cluster ([`TaskStore::shared`]), `tasks/*` for a task
//! another node runs are answered here from the store, and what they change reaches the running
//! node through the store only: that node reads its live tasks back every poll interval, stops a
//! handler whose task was cancelled (or failed) elsewhere and hands its handler the answers given
//! elsewhere. `tasks/result` for a task running elsewhere polls the store, bounded by the task's
//! time to live.

use super::cancel::CancelToken;
use super::ids;
use super::session::{ClientReply, Session};
use super::shard::ShardCtx;
use super::task_results::status_params;
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
fn fresh_id(node: Option<&str>, shard: usize) -> Result<String, ErrorObject> {
    ids::mint(node, shard).ok_or_else(|| ErrorObject::internal("no randomness for a task id"))
}

/// A client's answer as the raw JSON a handler receives.
fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
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
            match r {
                Err(e) => {
                    tracing::error!(task = %&id[..8.min(id.len())], error = %e, "task outcome not stored");
                }
                Ok(Some(c)) if !c.from.is_terminal() => table.status_changed(&id),
                Ok(_) => {}
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
        let table = self.table.clone();
        async move {
            match stored {
                Some(stored) => match resolve(stored).await {
                    // An ended task waits for nothing: no answer will come.
                    Ok(Some(c)) if c.from.is_terminal() => return None,
                    Ok(Some(c)) => {
                        if let Some(table) = table.upgrade() {
                            table.status_changed(&c.task.id);
                        }
                    }
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

    /// Hand answers to the inputs this task waits for; the keys handed over.
    fn deliver<'a>(
        &self,
        answers: impl IntoIterator<Item = (&'a str, Box<RawValue>)>,
    ) -> Vec<String> {
        let answers: HashMap<&str, Box<RawValue>> = answers.into_iter().collect();
        let mut handed = Vec::new();
        self.pending
            .borrow_mut()
            .retain(|(key, reply)| match answers.get(key.as_str()) {
                Some(answer) => {
                    reply.fulfil(Ok(answer.clone()));
                    handed.push(key.clone());
                    false
                }
                None => true,
            });
        handed
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
    /// The node task ids name (cluster mode).
    node: Option<Rc<str>>,
    store: Rc<dyn TaskStore>,
    live: RefCell<HashMap<String, Rc<LiveTask>>>,
    /// How long a task is kept after it was created (at least until it is terminal).
    ttl: Duration,
    /// Suggested polling interval.
    poll: Duration,
    /// Where status changes of 2026-07-28 tasks go (the shard's listen streams, and over the
    /// mesh the other shards').
    status_sink: RefCell<Option<Weak<ShardCtx>>>,
}

impl TaskTable {
    /// The tasks of `shard` (of `node`, in a cluster), kept in `store`; expired ones are swept
    /// from time to time, and with a shared store the live ones are watched.
    pub(crate) fn new(
        shard: usize,
        node: Option<Rc<str>>,
        store: Rc<dyn TaskStore>,
        ttl: Duration,
        poll: Duration,
    ) -> Rc<Self> {
        let shared = store.shared();
        let table = Rc::new(TaskTable {
            shard,
            node,
            store,
            live: RefCell::new(HashMap::new()),
            ttl,
            poll,
            status_sink: RefCell::new(None),
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
        if shared {
            glommio::spawn_local(watch(Rc::downgrade(&table))).detach();
        }
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
        let id = fresh_id(self.node.as_deref(), self.shard)?;
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
        let answers: Vec<(String, Box<RawValue>)> =
            responses.iter().map(|(k, v)| (k.clone(), raw(v))).collect();
        // A task that does not run here runs on another node: it picks the answers up from
        // the store.
        let keep = self.live(id).is_none();
        let stored = self.store.update(
            id,
            TaskChange::Answer {
                answers: answers.clone(),
                keep,
            },
            &now_iso(),
        );
        let (table, id) = (self.clone(), id.to_owned());
        then(stored, move |r| {
            if let (Ok(Some(_)), Some(live)) = (&r, table.live(&id)) {
                live.deliver(answers.iter().map(|(k, v)| (k.as_str(), v.clone())));
            }
            if let Ok(Some(c)) = &r {
                if c.from != c.task.status {
                    table.status_changed(&id);
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
                    table.status_changed(&id);
                }
            }
            r
        })
    }

    /// Tell `shard`'s listen streams (and, over the mesh, the other shards') when a 2026-07-28
    /// task of this table changes status.
    pub(crate) fn tell_status_to(&self, shard: &Rc<ShardCtx>) {
        *self.status_sink.borrow_mut() = Some(Rc::downgrade(shard));
    }

    /// A task's status changed: its listeners hear it as `tasks/get` would show it now. Only
    /// 2026-07-28 tasks (no owner): a 2025-11-25 task is its session's, polled there.
    fn status_changed(&self, id: &str) {
        let Some(shard) = self.status_sink.borrow().as_ref().and_then(Weak::upgrade) else {
            return;
        };
        let id = id.to_owned();
        settle(self.store.load(&id), move |found| match found {
            Ok(Some(state)) if state.info.owner.is_none() => {
                shard.publish_task_status(&id, &status_params(state));
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "task status not told"),
        });
    }

    /// The task once it is terminal (`Ok(None)` if it is gone by then). A task this shard runs
    /// is waited for; one it does not (another node runs it) is polled at its polling interval,
    /// for at most its time to live: past that, the task as it stands, still unfinished.
    pub(crate) async fn finished(&self, id: &str) -> Result<Option<TaskState>, StoreError> {
        let began = std::time::Instant::now();
        loop {
            if let Some(live) = self.live(id) {
                live.finished().await;
            }
            match resolve(self.store.load(id)).await? {
                Some(task) if !task.info.status.is_terminal() => {
                    let every = Duration::from_millis(task.info.poll_ms.max(10));
                    if began.elapsed() + every > Duration::from_millis(task.info.ttl_ms) {
                        return Ok(Some(task));
                    }
                    glommio::timer::sleep(every).await;
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
        let Some(owner) = stored_owner(session).or_else(|| session.task_owner.get().cloned())
        else {
            return Lookup::Ready(Ok(Vec::new()));
        };
        let owner = &owner;
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

/// Who `session` is to the task store: a stored session is its id, which every node that loads
/// it knows; any other is minted with its first task.
fn owner_key(session: &Session) -> Result<String, ErrorObject> {
    if let Some(key) = stored_owner(session) {
        return Ok(key);
    }
    if let Some(key) = session.task_owner.get() {
        return Ok(key.clone());
    }
    let key = fresh_id(None, 0)?;
    Ok(session.task_owner.get_or_init(|| key).clone())
}

fn stored_owner(session: &Session) -> Option<String> {
    session.durable.as_ref().map(|d| d.id().to_owned())
}

/// Watch the tasks this shard runs in a shared store: every poll interval read each back; one
/// that ended elsewhere (cancelled, or failed by a reader) stops its handler, and answers given
/// elsewhere go to its handler. Every few rounds tell the store they still run.
async fn watch(table: Weak<TaskTable>) {
    let (every, keep_every) = match table.upgrade() {
        Some(t) => {
            let every = t.poll.max(Duration::from_millis(10));
            // Well inside the store's hold of a working task (at least a minute).
            let keep = (Duration::from_secs(20).as_millis() / every.as_millis().max(1)).max(1);
            (every, keep)
        }
        None => return,
    };
    let mut round: u128 = 0;
    loop {
        glommio::timer::sleep(every).await;
        let Some(table) = table.upgrade() else { break };
        let ids: Vec<String> = table.live.borrow().keys().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        round += 1;
        if round % keep_every == 0 {
            table.store.keep(&ids);
        }
        // Every read is sent before any reply is awaited: one round trip for all of them.
        let reads: Vec<_> = ids.iter().map(|id| table.store.load(id)).collect();
        for (id, read) in ids.iter().zip(reads) {
            match resolve(read).await {
                Ok(Some(task)) if task.info.status.is_terminal() => {
                    tracing::debug!(task = %id, status = ?task.info.status, "task ended elsewhere");
                    table.finish(id, true);
                }
                Ok(Some(task)) if !task.answers.is_empty() => {
                    let Some(live) = table.live(id) else { continue };
                    live.deliver(task.answers.iter().map(|(k, v)| (k.as_str(), v.clone())));
                    // Answers nothing here waits for any more are dropped with the rest.
                    let taken = task.answers.into_iter().map(|(k, _)| k).collect();
                    let cleared = table
                        .store
                        .update(id, TaskChange::Collect(taken), &now_iso());
                    settle(cleared, |r| {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, "collected answers not cleared");
                        }
                    });
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::debug!(task = %id, "a running task is gone from the store");
                    table.finish(id, true);
                }
                Err(e) => tracing::debug!(task = %id, error = %e, "watching a task"),
            }
        }
    }
}
