//! [`TaskStore`]: the durable part of tasks (tool calls that outlive their request): status and
//! its message, result or error, the inputs a task waits for, owner, times and time to live;
//! what any node needs to answer `tasks/get`, `tasks/list` or `tasks/result`. The live part (the
//! running handler, its cancel token, the futures waiting for answers or for the end) stays on
//! the shard that runs the task and never passes through here.
//!
//! The state machine (working -> input_required <-> working -> completed | failed | cancelled,
//! terminal is final) is [`TaskState::apply`], so that every store applies a change the same way,
//! in one step (a network store runs it as one transaction or script). A store shared by several
//! nodes also carries what must reach the node running a task: the answers to its inputs given
//! through another node ([`TaskState::answers`]) and its status, which that node watches for a
//! cancellation ([`TaskStore::shared`]).

use super::{Lookup, StoreError};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::{InputRequest, TaskStatus};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// What `tasks/get` and `tasks/list` show of a task, besides its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The task id (its shard in the first two hex digits).
    pub id: String,
    /// Who may list it (a legacy session's owner key), if anyone.
    pub owner: Option<String>,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// Why it is in that status.
    pub status_message: Option<String>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 time of the last change of status.
    pub updated_at: String,
    /// Milliseconds since the Unix epoch at creation (the time to live counts from here).
    pub created_ms: u64,
    /// How long the task is kept after it was created (at least until it is terminal).
    pub ttl_ms: u64,
    /// Suggested polling interval.
    pub poll_ms: u64,
}

/// One stored task (a network store keeps it as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskState {
    /// Status, times, owner.
    pub info: TaskInfo,
    /// The call's result (completed; tool errors included).
    pub result: Option<Box<RawValue>>,
    /// The call's protocol error (failed).
    pub error: Option<ErrorObject>,
    /// The inputs the task waits for, by key, in the order asked.
    pub inputs: Vec<(String, InputRequest)>,
    /// Answers given through a node that does not run the task, by key, kept until the running
    /// node picks them up ([`TaskChange::Collect`]) or the task ends.
    #[serde(default)]
    pub answers: Vec<(String, Box<RawValue>)>,
}

/// A change to a stored task.
#[derive(Debug, Clone)]
pub enum TaskChange {
    /// The handler finished with a result (tool errors included).
    Complete(Box<RawValue>),
    /// The handler failed with a protocol error.
    Fail(ErrorObject),
    /// The client cancelled the task.
    Cancel,
    /// The handler waits for these inputs.
    Ask(Vec<(String, InputRequest)>),
    /// These inputs were answered (keys the task does not wait for are ignored). With `keep`,
    /// the answers stay on the task for the node that runs it (it is not the answering one).
    Answer {
        /// The answers, by key.
        answers: Vec<(String, Box<RawValue>)>,
        /// Keep them on the task for its running node to pick up.
        keep: bool,
    },
    /// The running node picked these kept answers up.
    Collect(Vec<String>),
}

/// What a change did: the status before, and the task after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The status before the change.
    pub from: TaskStatus,
    /// The task after it.
    pub task: TaskInfo,
}

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPage {
    /// The tasks of this page, oldest first.
    pub tasks: Vec<TaskInfo>,
    /// Pass to [`TaskStore::list`] for the next page; `None` on the last.
    pub next: Option<String>,
}

impl TaskState {
    /// A fresh task: working, no result, waiting for nothing.
    pub fn new(info: TaskInfo) -> Self {
        TaskState {
            info,
            result: None,
            error: None,
            inputs: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// Apply `change` made at `at` (RFC 3339); answers the status before it. A terminal task
    /// does not change any more.
    pub fn apply(&mut self, change: TaskChange, at: &str) -> TaskStatus {
        let from = self.info.status;
        if from.is_terminal() {
            return from;
        }
        match change {
            TaskChange::Complete(result) => {
                self.result = Some(result);
                self.set_status(TaskStatus::Completed, None, at);
            }
            TaskChange::Fail(error) => {
                let message = error.message.clone();
                self.error = Some(error);
                self.set_status(TaskStatus::Failed, Some(message), at);
            }
            TaskChange::Cancel => {
                self.set_status(
                    TaskStatus::Cancelled,
                    Some("cancelled by the client".into()),
                    at,
                );
            }
            TaskChange::Ask(requests) => {
                // An answer kept for an earlier question of the same key is not this one's.
                self.answers
                    .retain(|(key, _)| !requests.iter().any(|(k, _)| k == key));
                self.inputs.extend(requests);
                self.set_status(TaskStatus::InputRequired, None, at);
            }
            TaskChange::Answer { answers, keep } => {
                let before = self.inputs.len();
                for (key, answer) in answers {
                    let Some(pos) = self.inputs.iter().position(|(k, _)| *k == key) else {
                        continue;
                    };
                    self.inputs.remove(pos);
                    if keep {
                        self.answers.push((key, answer));
                    }
                }
                let answered = self.inputs.len() < before;
                if answered && self.inputs.is_empty() && from == TaskStatus::InputRequired {
                    self.set_status(TaskStatus::Working, None, at);
                }
            }
            TaskChange::Collect(keys) => {
                self.answers.retain(|(key, _)| !keys.contains(key));
            }
        }
        from
    }

    fn set_status(&mut self, status: TaskStatus, message: Option<String>, at: &str) {
        self.info.status = status;
        self.info.status_message = message;
        self.info.updated_at = at.to_owned();
        if status.is_terminal() {
            self.inputs.clear();
            self.answers.clear();
        }
    }

    /// Terminal and older than its time to live at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.info.status.is_terminal()
            && now_ms.saturating_sub(self.info.created_ms) > self.info.ttl_ms
    }
}

/// Where tasks are kept. Every method names a task by id (or an owner), so that an
/// implementation can be a key per task on a network store, with a time to live.
pub trait TaskStore {
    /// Keep a new task. Completes before the client is told of it, so that every node can find
    /// a task a client knows of. [`StoreError::Full`] when no more tasks are taken.
    fn create(&self, task: TaskState) -> Lookup<Result<(), StoreError>>;

    /// The task named `id`; `Ok(None)` when there is none (never created, or expired).
    fn load(&self, id: &str) -> Lookup<Result<Option<TaskState>, StoreError>>;

    /// Apply `change`, made at `at` (RFC 3339), with [`TaskState::apply`] in one step; `Ok(None)`
    /// when the task is gone.
    fn update(
        &self,
        id: &str,
        change: TaskChange,
        at: &str,
    ) -> Lookup<Result<Option<Changed>, StoreError>>;

    /// At most `limit` of `owner`'s tasks, oldest first, from where `after` (a previous page's
    /// [`TaskPage::next`]) left off.
    fn list(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Lookup<Result<TaskPage, StoreError>>;

    /// Forget the tasks [`TaskState::expired`] at `now_ms`. Fire and forget; a store whose keys
    /// carry their own time to live may do nothing.
    fn expire(&self, now_ms: u64);

    /// Whether other nodes change the tasks kept here: then the node running a task watches its
    /// stored state for a cancellation or answers made elsewhere.
    fn shared(&self) -> bool {
        false
    }

    /// The running node still runs these tasks: keep them (and their owners' listings) alive.
    /// Fire and forget; a store without a time to live does nothing.
    fn keep(&self, _ids: &[String]) {}
}

#[derive(Default)]
struct Tasks {
    /// Each task and its place in `order`.
    by_id: HashMap<String, (u64, TaskState)>,
    /// Task ids by creation, for listing oldest first and resuming after a page.
    order: BTreeMap<u64, String>,
    next: u64,
}

/// One process's tasks in a map: what a single node runs.
pub struct MemoryTaskStore {
    tasks: RefCell<Tasks>,
    max_tasks: usize,
}

impl MemoryTaskStore {
    /// An empty store holding at most `max_tasks` tasks.
    pub fn new(max_tasks: usize) -> Self {
        MemoryTaskStore {
            tasks: RefCell::new(Tasks::default()),
            max_tasks,
        }
    }
}

impl TaskStore for MemoryTaskStore {
    fn create(&self, task: TaskState) -> Lookup<Result<(), StoreError>> {
        let mut tasks = self.tasks.borrow_mut();
        if tasks.by_id.len() >= self.max_tasks {
            return Lookup::Ready(Err(StoreError::Full("too many tasks".into())));
        }
        let seq = tasks.next;
        tasks.next += 1;
        tasks.order.insert(seq, task.info.id.clone());
        if let Some((old, _)) = tasks.by_id.insert(task.info.id.clone(), (seq, task)) {
            tasks.order.remove(&old);
        }
        Lookup::Ready(Ok(()))
    }

    fn load(&self, id: &str) -> Lookup<Result<Option<TaskState>, StoreError>> {
        let tasks = self.tasks.borrow();
        Lookup::Ready(Ok(tasks.by_id.get(id).map(|(_, t)| t.clone())))
    }

    fn update(
        &self,
        id: &str,
        change: TaskChange,
        at: &str,
    ) -> Lookup<Result<Option<Changed>, StoreError>> {
        let mut tasks = self.tasks.borrow_mut();
        let changed = tasks.by_id.get_mut(id).map(|(_, task)| {
            let from = task.apply(change, at);
            Changed {
                from,
                task: task.info.clone(),
            }
        });
        Lookup::Ready(Ok(changed))
    }

    fn list(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Lookup<Result<TaskPage, StoreError>> {
        let tasks = self.tasks.borrow();
        // A cursor this store did not mint starts from the beginning.
        let start = after
            .and_then(|a| a.parse::<u64>().ok())
            .map_or(0, |a| a.saturating_add(1));
        let mut page = TaskPage {
            tasks: Vec::new(),
            next: None,
        };
        let mut last = None;
        for (seq, id) in tasks.order.range(start..) {
            let Some((_, task)) = tasks.by_id.get(id) else {
                continue;
            };
            if task.info.owner.as_deref() != Some(owner) {
                continue;
            }
            if page.tasks.len() == limit {
                page.next = last.map(|s: u64| s.to_string());
                break;
            }
            page.tasks.push(task.info.clone());
            last = Some(*seq);
        }
        Lookup::Ready(Ok(page))
    }

    fn expire(&self, now_ms: u64) {
        let mut tasks = self.tasks.borrow_mut();
        let Tasks { by_id, order, .. } = &mut *tasks;
        by_id.retain(|_, (seq, task)| {
            let keep = !task.expired(now_ms);
            if !keep {
                order.remove(seq);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, owner: Option<&str>, created_ms: u64) -> TaskInfo {
        TaskInfo {
            id: id.into(),
            owner: owner.map(str::to_owned),
            status: TaskStatus::Working,
            status_message: None,
            created_at: "t0".into(),
            updated_at: "t0".into(),
            created_ms,
            ttl_ms: 100,
            poll_ms: 10,
        }
    }

    fn now<T>(l: Lookup<T>) -> T {
        match l.now() {
            Ok(v) => v,
            Err(_) => panic!("the in-memory store must answer at once"),
        }
    }

    fn ok<T>(r: Result<T, StoreError>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    fn update(store: &MemoryTaskStore, id: &str, change: TaskChange) -> Option<Changed> {
        ok(now(store.update(id, change, "t1")))
    }

    fn answer(keys: &[&str], keep: bool) -> TaskChange {
        let yes = || RawValue::from_string("true".into()).unwrap_or_else(|e| panic!("{e}"));
        TaskChange::Answer {
            answers: keys.iter().map(|k| (k.to_string(), yes())).collect(),
            keep,
        }
    }

    fn ask(key: &str) -> (String, InputRequest) {
        (
            key.into(),
            InputRequest {
                method: "elicitation/create".into(),
                params: None,
            },
        )
    }

    #[test]
    fn inputs_move_the_task_between_working_and_input_required() {
        let store = MemoryTaskStore::new(10);
        ok(now(store.create(TaskState::new(info("a", None, 0)))));
        let asked = update(&store, "a", TaskChange::Ask(vec![ask("k1"), ask("k2")]));
        assert_eq!(
            asked.map(|c| (c.from, c.task.status, c.task.updated_at)),
            Some((TaskStatus::Working, TaskStatus::InputRequired, "t1".into()))
        );
        update(&store, "a", answer(&["k1", "nope"], false));
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        assert_eq!(state.info.status, TaskStatus::InputRequired);
        assert_eq!(state.inputs.len(), 1);
        update(&store, "a", answer(&["k2"], false));
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        assert_eq!(state.info.status, TaskStatus::Working);
        assert!(state.inputs.is_empty());
        assert!(
            state.answers.is_empty(),
            "answered where it runs: nothing kept"
        );
    }

    #[test]
    fn answers_given_elsewhere_are_kept_until_collected() {
        let store = MemoryTaskStore::new(10);
        ok(now(store.create(TaskState::new(info("a", None, 0)))));
        update(&store, "a", TaskChange::Ask(vec![ask("k1"), ask("k2")]));
        update(&store, "a", answer(&["k1", "nope"], true));
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        let kept: Vec<_> = state
            .answers
            .iter()
            .map(|(k, v)| (k.as_str(), v.get()))
            .collect();
        assert_eq!(kept, [("k1", "true")], "only what the task waited for");
        update(&store, "a", TaskChange::Collect(vec!["k1".into()]));
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        assert!(state.answers.is_empty());
        update(&store, "a", answer(&["k2"], true));
        update(&store, "a", TaskChange::Cancel);
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        assert!(state.answers.is_empty(), "an ended task keeps no answers");
    }

    #[test]
    fn a_task_survives_json() {
        let mut state = TaskState::new(info("a", Some("o"), 5));
        state.apply(TaskChange::Ask(vec![ask("k1")]), "t1");
        let text = serde_json::to_string(&state).unwrap_or_else(|e| panic!("{e}"));
        let back: TaskState = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.info, state.info);
        assert_eq!(back.inputs, state.inputs);
    }

    #[test]
    fn terminal_is_final() {
        let store = MemoryTaskStore::new(10);
        ok(now(store.create(TaskState::new(info("a", None, 0)))));
        update(&store, "a", TaskChange::Ask(vec![ask("k1")]));
        let failed = update(
            &store,
            "a",
            TaskChange::Fail(ErrorObject::new(-32603, "boom")),
        );
        assert_eq!(
            failed.as_ref().map(|c| (c.from, c.task.status)),
            Some((TaskStatus::InputRequired, TaskStatus::Failed))
        );
        let cancelled = update(&store, "a", TaskChange::Cancel);
        assert_eq!(
            cancelled.map(|c| (c.from, c.task.status)),
            Some((TaskStatus::Failed, TaskStatus::Failed)),
            "a failed task stays failed"
        );
        let state = ok(now(store.load("a"))).unwrap_or_else(|| panic!("a is gone"));
        assert!(state.inputs.is_empty(), "a terminal task waits for nothing");
        assert_eq!(state.error.map(|e| e.message), Some("boom".into()));
        assert_eq!(state.info.status_message.as_deref(), Some("boom"));
        assert_eq!(update(&store, "gone", TaskChange::Cancel), None);
    }

    #[test]
    fn full_store_refuses_and_expiry_drops_old_terminal_tasks() {
        let store = MemoryTaskStore::new(2);
        ok(now(store.create(TaskState::new(info("a", None, 0)))));
        ok(now(store.create(TaskState::new(info("b", None, 0)))));
        assert!(matches!(
            now(store.create(TaskState::new(info("c", None, 0)))),
            Err(StoreError::Full(_))
        ));
        update(&store, "a", TaskChange::Cancel);
        store.expire(50);
        assert!(ok(now(store.load("a"))).is_some(), "not yet past its ttl");
        store.expire(101);
        assert!(ok(now(store.load("a"))).is_none());
        assert!(
            ok(now(store.load("b"))).is_some(),
            "a running task outlives its ttl"
        );
        ok(now(store.create(TaskState::new(info("c", None, 0)))));
    }

    #[test]
    fn lists_an_owners_tasks_oldest_first_in_pages() {
        let store = MemoryTaskStore::new(10);
        for (id, owner) in [("a", "x"), ("b", "y"), ("c", "x"), ("d", "x"), ("e", "x")] {
            ok(now(store.create(TaskState::new(info(id, Some(owner), 0)))));
        }
        ok(now(store.create(TaskState::new(info("f", None, 0)))));
        let ids = |page: &TaskPage| page.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        let first = ok(now(store.list("x", None, 2)));
        assert_eq!(ids(&first), ["a", "c"]);
        let second = ok(now(store.list("x", first.next.as_deref(), 2)));
        assert_eq!(ids(&second), ["d", "e"]);
        assert_eq!(second.next, None, "nothing after the last");
        let all = ok(now(store.list("x", Some("not-a-cursor"), 10)));
        assert_eq!(ids(&all), ["a", "c", "d", "e"]);
        assert!(ok(now(store.list("nobody", None, 10))).tasks.is_empty());
    }
}
