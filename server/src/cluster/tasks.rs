//! [`RedisTaskStore`]: tasks kept in Redis, so that every node answers `tasks/*` for a task any
//! node runs. One hash per task, `<prefix>:{<task id>}:task` (the braces a hash tag), holding the
//! [`TaskState`] as JSON (`s`), a version (`v`) and the node running the task with its lease
//! token (`n`, `t`); a sorted set per owner, `<prefix>:{<owner>}:tasks` (task ids by creation
//! time), for `tasks/list`.
//!
//! A change reads the task, applies [`TaskState::apply`] in Rust and writes it back with a
//! compare-and-set on the version (a script), retried a few times on a conflict: the state
//! machine lives in one place. Whoever reads a task that is still working while the lease of the
//! node running it (`<prefix>:node:<id>`, see `lease.rs`) is gone or holds another token (the
//! node died, or restarted) marks it failed with "node X stopped", with the same fenced write, so
//! a task is never left working by a dead node. A working task's key lives at least
//! [`WORKING_HOLD`] and is kept alive by its running node ([`TaskStore::keep`]); a terminal one
//! lives until its time to live since creation has passed. This file knows the keys and the
//! scripts; the wire is the link's, the watching of live tasks the task table's.

use super::lease::node_key;
use super::link::RedisLink;
use super::resp::{Cmd, Reply};
use crate::store::{Changed, Lookup, StoreError, TaskChange, TaskPage, TaskState, TaskStore};
use ringmcp_proto::jsonrpc::ErrorObject;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The least a working task's key is kept without a refresh from its running node.
pub(crate) const WORKING_HOLD: Duration = Duration::from_secs(60);

/// Compare-and-set tries before a change gives up (others changed the task every time).
const CAS_TRIES: usize = 5;

/// Store a new task and start its time to live, in one step.
const CREATE: &str = "redis.call('HSET', KEYS[1], 'v', '1', 's', ARGV[1], 'n', ARGV[2], \
't', ARGV[3]) redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1";

/// Write a task back if its version is still the one read: 1 written, 0 changed meanwhile,
/// -1 gone.
const CAS: &str = "local v = redis.call('HGET', KEYS[1], 'v') \
if not v then return -1 end if v ~= ARGV[1] then return 0 end \
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3]) \
redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1";

/// One page of an owner's task ids with their scores, after the cursor member (or, if that one
/// is gone, after its score).
const PAGE: &str = "local start = 0 \
if ARGV[1] ~= '' then local r = redis.call('ZRANK', KEYS[1], ARGV[1]) \
if r then start = r + 1 else start = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[2]) end end \
return redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[3]) - 1, 'WITHSCORES')";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn now_iso() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn redis_error(e: &str) -> StoreError {
    StoreError::Unavailable(format!("Redis: {e}"))
}

/// A task as stored: its state, version and runner.
#[derive(Debug)]
struct Stored {
    version: u64,
    state: TaskState,
    node: String,
    token: String,
}

/// What a `HMGET key v s n t` holds; `None` for a key that is gone or unreadable.
fn stored(id: &str, reply: &Reply) -> Result<Option<Stored>, StoreError> {
    let fields = match reply {
        Reply::Error(e) => return Err(redis_error(e)),
        Reply::Array(fields) => fields,
        _ => return Ok(None),
    };
    let text = |i: usize| fields.get(i).and_then(Reply::text);
    let (Some(version), Some(state)) = (text(0), text(1)) else {
        return Ok(None);
    };
    let (Ok(version), Ok(state)) = (version.parse(), serde_json::from_str(state)) else {
        tracing::warn!(task = %id, "a stored task this version cannot read: treated as gone");
        return Ok(None);
    };
    Ok(Some(Stored {
        version,
        state,
        node: text(2).unwrap_or_default().to_owned(),
        token: text(3).unwrap_or_default().to_owned(),
    }))
}

/// How long a task's key lives after a write at `now`: a working task at least
/// [`WORKING_HOLD`] (its node refreshes it), a terminal one until its time to live is over.
fn hold_ms(state: &TaskState, now: u64) -> u64 {
    let info = &state.info;
    if info.status.is_terminal() {
        info.created_ms
            .saturating_add(info.ttl_ms)
            .saturating_sub(now)
            .max(1000)
    } else {
        working_hold(info.ttl_ms)
    }
}

fn working_hold(ttl_ms: u64) -> u64 {
    ttl_ms.max(WORKING_HOLD.as_millis() as u64)
}

/// The change whoever finds a task of a dead node makes.
fn node_stopped(node: &str) -> TaskChange {
    TaskChange::Fail(ErrorObject::internal(format!("node {node} stopped")))
}

/// What a compare-and-set did.
#[derive(Debug, PartialEq, Eq)]
enum Cas {
    Written,
    Conflict,
    Gone,
}

fn cas_result(replies: &[Reply]) -> Result<Cas, StoreError> {
    match replies.first() {
        Some(Reply::Int(1)) => Ok(Cas::Written),
        Some(Reply::Int(0)) => Ok(Cas::Conflict),
        Some(Reply::Int(_)) | Some(Reply::Nil) => Ok(Cas::Gone),
        Some(Reply::Error(e)) => Err(redis_error(e)),
        other => Err(redis_error(&format!(
            "unexpected answer to a task write: {other:?}"
        ))),
    }
}

/// The ids and scores of a [`PAGE`] reply.
fn page_members(replies: &[Reply]) -> Result<Vec<(String, String)>, StoreError> {
    match replies.first() {
        Some(Reply::Array(flat)) => Ok(flat
            .chunks(2)
            .filter_map(|pair| {
                let id = pair.first()?.text()?;
                let score = pair.get(1)?.text()?;
                Some((id.to_owned(), score.to_owned()))
            })
            .collect()),
        Some(Reply::Error(e)) => Err(redis_error(e)),
        _ => Ok(Vec::new()),
    }
}

/// A cursor: the last listed task's score and id (`<score>:<id>`; ids hold no `:`).
fn parse_cursor(after: Option<&str>) -> (String, String) {
    match after.and_then(|a| a.split_once(':')) {
        Some((score, id)) if score.parse::<f64>().is_ok() => (id.to_owned(), score.to_owned()),
        // A cursor this store did not mint starts from the beginning.
        _ => (String::new(), "-inf".to_owned()),
    }
}

struct Inner {
    link: Rc<RedisLink>,
    prefix: String,
    /// This node's id and lease token: the runner of the tasks it creates.
    node: String,
    token: String,
    /// Each task this shard runs: its owner (keeping the task alive keeps its listing too) and
    /// how long its keys are held.
    held: RefCell<HashMap<String, (Option<String>, u64)>>,
}

impl Inner {
    fn key(&self, id: &str) -> String {
        format!("{}:{{{id}}}:task", self.prefix)
    }

    fn owner_key(&self, owner: &str) -> String {
        format!("{}:{{{owner}}}:tasks", self.prefix)
    }

    fn read_cmd(&self, id: &str) -> Cmd {
        Cmd::new("HMGET")
            .arg(self.key(id))
            .arg("v")
            .arg("s")
            .arg("n")
            .arg("t")
    }

    async fn read(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        self.read_sent(id, self.link.call(&[self.read_cmd(id)]))
            .await
    }

    /// The task a read already sent brings back.
    async fn read_sent(
        &self,
        id: &str,
        sent: Lookup<Result<Vec<Reply>, StoreError>>,
    ) -> Result<Option<Stored>, StoreError> {
        let replies = sent.await?;
        match replies.first() {
            Some(reply) => stored(id, reply),
            None => Ok(None),
        }
    }

    /// Whether `s` is unfinished while the node that runs it is gone: its lease lapsed, or a
    /// restart of that node holds it with another token.
    async fn runner_gone(&self, s: &Stored) -> Result<bool, StoreError> {
        if s.state.info.status.is_terminal() || (s.node == self.node && s.token == self.token) {
            return Ok(false);
        }
        if s.node.is_empty() {
            return Ok(false);
        }
        let replies = self
            .link
            .call(&[Cmd::new("GET").arg(node_key(&self.prefix, &s.node))])
            .await?;
        match replies.first() {
            Some(Reply::Error(e)) => Err(redis_error(e)),
            Some(reply) => Ok(reply.text() != Some(s.token.as_str())),
            None => Ok(false),
        }
    }

    /// Write `state` over `s` if nobody changed it since it was read.
    async fn write(&self, id: &str, s: &Stored, state: &TaskState) -> Result<Cas, StoreError> {
        let json = serde_json::to_string(state)
            .map_err(|e| StoreError::Unavailable(format!("a task that is not JSON: {e}")))?;
        let cmd = Cmd::new("EVAL")
            .arg(CAS)
            .num(1)
            .arg(self.key(id))
            .num(s.version)
            .num(s.version + 1)
            .arg(json)
            .num(hold_ms(state, now_ms()));
        let replies = self.link.call(&[cmd]).await?;
        let written = cas_result(&replies)?;
        if written == Cas::Written && state.info.status.is_terminal() {
            self.held.borrow_mut().remove(id);
        }
        Ok(written)
    }

    /// The task, marked failed first if its node is gone; `sent` is its first read, already
    /// on its way.
    async fn load(
        &self,
        id: &str,
        mut sent: Option<Lookup<Result<Vec<Reply>, StoreError>>>,
    ) -> Result<Option<TaskState>, StoreError> {
        for _ in 0..CAS_TRIES {
            let read = match sent.take() {
                Some(sent) => self.read_sent(id, sent).await?,
                None => self.read(id).await?,
            };
            let Some(s) = read else {
                return Ok(None);
            };
            match self.settle(id, s).await? {
                Some(state) => return Ok(Some(state)),
                None => continue,
            }
        }
        Err(contended(id))
    }

    /// `s` as it stands: marked failed (and written) if its node is gone; `None` when the
    /// write lost a race (read again).
    async fn settle(&self, id: &str, s: Stored) -> Result<Option<TaskState>, StoreError> {
        if !self.runner_gone(&s).await? {
            return Ok(Some(s.state));
        }
        let mut state = s.state.clone();
        state.apply(node_stopped(&s.node), &now_iso());
        tracing::info!(task = %id, node = %s.node, "task of a stopped node marked failed");
        match self.write(id, &s, &state).await? {
            Cas::Written | Cas::Gone => Ok(Some(state)),
            Cas::Conflict => Ok(None),
        }
    }

    async fn change(
        &self,
        id: &str,
        change: TaskChange,
        at: &str,
    ) -> Result<Option<Changed>, StoreError> {
        for _ in 0..CAS_TRIES {
            let Some(s) = self.read(id).await? else {
                return Ok(None);
            };
            let mut state = s.state.clone();
            let gone = self.runner_gone(&s).await?;
            if gone {
                state.apply(node_stopped(&s.node), at);
            }
            let from = state.apply(change.clone(), at);
            if from.is_terminal() && !gone {
                // A terminal task does not change: nothing to write.
                return Ok(Some(Changed {
                    from,
                    task: state.info,
                }));
            }
            match self.write(id, &s, &state).await? {
                Cas::Written => {
                    return Ok(Some(Changed {
                        from,
                        task: state.info,
                    }))
                }
                Cas::Gone => return Ok(None),
                Cas::Conflict => continue,
            }
        }
        Err(contended(id))
    }

    async fn list(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<TaskPage, StoreError> {
        let (member, score) = parse_cursor(after);
        let set = self.owner_key(owner);
        // One more than asked: whether a next page exists.
        let page = Cmd::new("EVAL")
            .arg(PAGE)
            .num(1)
            .arg(&set)
            .arg(member)
            .arg(score)
            .num(limit as u64 + 1);
        let members = page_members(&self.link.call(&[page]).await?)?;
        let more = members.len() > limit;
        let members = &members[..members.len().min(limit)];
        let reads: Vec<Cmd> = members.iter().map(|(id, _)| self.read_cmd(id)).collect();
        let replies = if reads.is_empty() {
            Vec::new()
        } else {
            self.link.call(&reads).await?
        };
        let mut tasks = Vec::with_capacity(members.len());
        let mut gone = Vec::new();
        for ((id, _), reply) in members.iter().zip(&replies) {
            let Some(s) = stored(id, reply)? else {
                gone.push(id.clone());
                continue;
            };
            let state = match self.settle(id, s).await? {
                Some(state) => Some(state),
                None => self.load(id, None).await?,
            };
            match state {
                Some(state) => tasks.push(state.info),
                None => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            // Expired tasks leave the listing lazily, when a listing meets them.
            let mut zrem = Cmd::new("ZREM").arg(&set);
            for id in &gone {
                zrem = zrem.arg(id);
            }
            self.link.fire(&[zrem]);
        }
        let next = match members.last() {
            Some((id, score)) if more => Some(format!("{score}:{id}")),
            _ => None,
        };
        Ok(TaskPage { tasks, next })
    }
}

fn contended(id: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "task {id} was changed by others {CAS_TRIES} times in a row; try again"
    ))
}

/// Tasks in Redis, for one shard.
pub(crate) struct RedisTaskStore {
    inner: Rc<Inner>,
}

impl RedisTaskStore {
    /// Tasks under `prefix`, sent on `link`; tasks created here are run by `node`, whose lease
    /// holds `token`.
    pub(crate) fn new(link: Rc<RedisLink>, prefix: &str, node: &str, token: &str) -> Rc<Self> {
        Rc::new(RedisTaskStore {
            inner: Rc::new(Inner {
                link,
                prefix: prefix.to_owned(),
                node: node.to_owned(),
                token: token.to_owned(),
                held: RefCell::new(HashMap::new()),
            }),
        })
    }
}

/// An async store call as a lookup (every call waits for Redis).
fn later<T: 'static>(f: impl std::future::Future<Output = T> + 'static) -> Lookup<T> {
    Lookup::Later(Box::pin(f))
}

impl TaskStore for RedisTaskStore {
    fn create(&self, task: TaskState) -> Lookup<Result<(), StoreError>> {
        let inner = &self.inner;
        let json = match serde_json::to_string(&task) {
            Ok(json) => json,
            Err(e) => {
                return Lookup::Ready(Err(StoreError::Unavailable(format!(
                    "a task that is not JSON: {e}"
                ))))
            }
        };
        let id = &task.info.id;
        let hold = hold_ms(&task, now_ms());
        let mut cmds = vec![Cmd::new("EVAL")
            .arg(CREATE)
            .num(1)
            .arg(inner.key(id))
            .arg(json)
            .arg(&inner.node)
            .arg(&inner.token)
            .num(hold)];
        if let Some(owner) = &task.info.owner {
            let set = inner.owner_key(owner);
            cmds.push(Cmd::new("ZADD").arg(&set).num(task.info.created_ms).arg(id));
            cmds.push(Cmd::new("PEXPIRE").arg(&set).num(hold));
        }
        inner
            .held
            .borrow_mut()
            .insert(id.clone(), (task.info.owner.clone(), hold));
        match inner.link.call(&cmds) {
            Lookup::Ready(r) => Lookup::Ready(r.map(|_| ())),
            Lookup::Later(replies) => later(async move {
                let replies = replies.await?;
                match replies.iter().find_map(Reply::error) {
                    Some(e) => Err(redis_error(e)),
                    None => Ok(()),
                }
            }),
        }
    }

    fn load(&self, id: &str) -> Lookup<Result<Option<TaskState>, StoreError>> {
        // Sent at once, so that many loads made in one turn (the running node's watch) leave in
        // one send and cost one round trip.
        let sent = self.inner.link.call(&[self.inner.read_cmd(id)]);
        let (inner, id) = (self.inner.clone(), id.to_owned());
        later(async move { inner.load(&id, Some(sent)).await })
    }

    fn update(
        &self,
        id: &str,
        change: TaskChange,
        at: &str,
    ) -> Lookup<Result<Option<Changed>, StoreError>> {
        let (inner, id, at) = (self.inner.clone(), id.to_owned(), at.to_owned());
        later(async move { inner.change(&id, change, &at).await })
    }

    fn list(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Lookup<Result<TaskPage, StoreError>> {
        let inner = self.inner.clone();
        let (owner, after) = (owner.to_owned(), after.map(str::to_owned));
        later(async move { inner.list(&owner, after.as_deref(), limit).await })
    }

    fn expire(&self, _now_ms: u64) {
        // Every key carries its own time to live.
    }

    fn shared(&self) -> bool {
        true
    }

    fn keep(&self, ids: &[String]) {
        let inner = &self.inner;
        let running: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut held = inner.held.borrow_mut();
        held.retain(|id, _| running.contains(id.as_str()));
        let mut cmds = Vec::with_capacity(held.len());
        let mut sets: HashMap<&str, u64> = HashMap::new();
        for (id, (owner, hold)) in held.iter() {
            cmds.push(Cmd::new("PEXPIRE").arg(inner.key(id)).num(*hold));
            if let Some(owner) = owner {
                let set = sets.entry(owner).or_default();
                *set = (*set).max(*hold);
            }
        }
        cmds.extend(
            sets.into_iter()
                .map(|(owner, hold)| Cmd::new("PEXPIRE").arg(inner.owner_key(owner)).num(hold)),
        );
        if !cmds.is_empty() {
            inner.link.fire(&cmds);
        }
    }
}

#[cfg(test)]
mod tests;
