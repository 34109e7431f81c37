//! [`RedisSessionStore`]: legacy sessions kept in Redis, one hash per session
//! (`<prefix>:{<id>}:session`, the braces a hash tag so that whatever else a session keeps later
//! shares its slot in a Redis Cluster), with a time to live refreshed by batched `PEXPIRE`s.
//!
//! Each node answers from its own copy of a session and asks Redis only on a miss. Copies stay
//! true through Redis's client-side caching: the link runs `CLIENT TRACKING ON NOLOOP`, so every
//! key this shard has read is watched, and a change or deletion made through any other connection
//! (another node, another shard) comes back as an invalidation push that marks the copy stale;
//! its next request loads it again. After a reconnect every copy is stale (pushes may have been
//! lost). Writes that must not resurrect a deleted session run as scripts that check the key
//! first. This file knows the key layout and the record's fields; the wire is the link's.

use super::link::RedisLink;
use super::resp::{Cmd, Reply};
use crate::store::{Lookup, SessionChange, SessionRecord, SessionStore, StoreError};
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::LogLevel;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

/// Store a new session and start its time to live, in one step (a connection lost between the
/// two must not leave a key that never expires).
const CREATE: &str = "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) \
redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1";

/// Change a field of a session that still exists (a change racing a DELETE must not bring the
/// session back, without a time to live). The read after the write is what keeps this node
/// hearing of the key: a write ends every connection's tracking of it, the writer's too (NOLOOP
/// only spares it the push), and a read inside the script tracks it again with no gap in which
/// another node's change could go unheard.
const CHANGE: &str = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end \
if ARGV[1] == 'del' then redis.call('HDEL', KEYS[1], ARGV[2]) \
else redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end \
redis.call('EXISTS', KEYS[1]) return 1";

/// Refresh a session's time to live, and track the key again (a `PEXPIRE` is a write: see
/// [`CHANGE`]).
const TOUCH: &str = "local r = redis.call('PEXPIRE', KEYS[1], ARGV[1]) \
redis.call('EXISTS', KEYS[1]) return r";

/// Invalidated ids remembered at most; past it every copy is declared stale at once, which is
/// always safe (a reload), and the map starts over.
const MAX_INVALIDATED: usize = 10_000;

/// Touches waiting for the next batch at most (the rest wait for their session's next use).
const MAX_TOUCHES: usize = 100_000;

/// Hears the id of each session whose copies went stale.
type StaleListener = Box<dyn Fn(&str)>;

/// Which copies may be stale.
#[derive(Default)]
struct Staleness {
    generation: Cell<u64>,
    /// Copies loaded before this generation are all stale.
    flushed_at: Cell<u64>,
    /// Session id -> the generation its invalidation arrived at.
    changed: RefCell<HashMap<String, u64>>,
    /// Hears each invalidated id.
    listener: RefCell<Option<StaleListener>>,
}

impl Staleness {
    fn bump(&self) -> u64 {
        let g = self.generation.get() + 1;
        self.generation.set(g);
        g
    }

    fn all(&self) {
        let g = self.bump();
        self.flushed_at.set(g);
        self.changed.borrow_mut().clear();
    }

    fn one(&self, id: &str) {
        if self.changed.borrow().len() >= MAX_INVALIDATED {
            self.all();
            return;
        }
        let g = self.bump();
        self.changed.borrow_mut().insert(id.to_string(), g);
        if let Some(listener) = &*self.listener.borrow() {
            listener(id);
        }
    }

    fn stale(&self, id: &str, at: u64) -> bool {
        at < self.flushed_at.get() || self.changed.borrow().get(id).is_some_and(|&g| g > at)
    }
}

/// Legacy sessions in Redis, for one shard.
pub(crate) struct RedisSessionStore {
    link: Rc<RedisLink>,
    prefix: String,
    ttl: Duration,
    staleness: Rc<Staleness>,
    touches: RefCell<Vec<String>>,
}

impl RedisSessionStore {
    /// Sessions under `prefix`, expiring `ttl` after their last use. Listens to `link` for
    /// invalidations and reconnects, and sends batched touches once a second.
    pub(crate) fn new(link: Rc<RedisLink>, prefix: &str, ttl: Duration) -> Rc<Self> {
        let staleness = Rc::new(Staleness::default());
        let head = format!("{prefix}:{{");
        let watch = staleness.clone();
        link.on_push(move |items| {
            if items.first().and_then(Reply::text) != Some("invalidate") {
                return;
            }
            match items.get(1) {
                Some(Reply::Array(keys)) => {
                    for key in keys.iter().filter_map(Reply::text) {
                        if let Some(id) = key
                            .strip_prefix(head.as_str())
                            .and_then(|k| k.strip_suffix("}:session"))
                        {
                            watch.one(id);
                        }
                    }
                }
                // A null list: Redis flushed its tracking table (FLUSHALL, say).
                _ => watch.all(),
            }
        });
        let watch = staleness.clone();
        link.on_up(move || watch.all());
        let store = Rc::new(RedisSessionStore {
            link,
            prefix: prefix.to_string(),
            ttl,
            staleness,
            touches: RefCell::new(Vec::new()),
        });
        glommio::spawn_local(send_touches(Rc::downgrade(&store))).detach();
        store
    }

    fn key(&self, id: &str) -> String {
        format!("{}:{{{id}}}:session", self.prefix)
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl.as_millis().max(1) as u64
    }
}

async fn send_touches(store: Weak<RedisSessionStore>) {
    loop {
        glommio::timer::sleep(Duration::from_secs(1)).await;
        let Some(store) = store.upgrade() else { break };
        let ids = std::mem::take(&mut *store.touches.borrow_mut());
        if ids.is_empty() {
            continue;
        }
        let ttl = store.ttl_ms();
        let cmds: Vec<Cmd> = ids
            .iter()
            .map(|id| {
                Cmd::new("EVAL")
                    .arg(TOUCH)
                    .num(1)
                    .arg(store.key(id))
                    .num(ttl)
            })
            .collect();
        store.link.fire(&cmds);
    }
}

/// What a `HGETALL` of a session key holds, as a record; `None` for a key that is gone (an empty
/// reply) or that is not a session this version can read.
fn record(id: &str, reply: &Reply) -> Option<SessionRecord> {
    let pairs: Vec<(&str, &str)> = match reply {
        Reply::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((k.text()?, v.text()?)))
            .collect(),
        Reply::Array(flat) => flat
            .chunks(2)
            .filter_map(|kv| Some((kv.first()?.text()?, kv.get(1)?.text()?)))
            .collect(),
        _ => return None,
    };
    let mut revision = None;
    let mut record = SessionRecord {
        id: id.to_string(),
        revision: ProtocolVersion::V2025_11_25,
        client_capabilities: serde_json::Value::Object(Default::default()),
        client_info: None,
        log_level: None,
        subscriptions: BTreeSet::new(),
        principal: None,
        created_ms: 0,
        touched_ms: 0,
    };
    for (field, value) in pairs {
        match field {
            "v" => revision = ProtocolVersion::parse(value),
            "caps" => record.client_capabilities = serde_json::from_str(value).ok()?,
            "info" => record.client_info = serde_json::from_str(value).ok(),
            "lvl" => record.log_level = serde_json::from_value(value.into()).ok(),
            "p" => record.principal = Some(Arc::from(value)),
            "c" => record.created_ms = value.parse().unwrap_or(0),
            _ => {
                if let Some(uri) = field.strip_prefix("sub:") {
                    record.subscriptions.insert(uri.to_string());
                }
            }
        }
    }
    record.revision = revision?;
    record.touched_ms = record.created_ms;
    Some(record)
}

fn level_name(level: LogLevel) -> String {
    match serde_json::to_value(level) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "info".into(),
    }
}

impl SessionStore for RedisSessionStore {
    fn create(&self, record: SessionRecord) -> Lookup<Result<(), StoreError>> {
        let key = self.key(&record.id);
        let mut cmd = Cmd::new("EVAL")
            .arg(CREATE)
            .num(1)
            .arg(&key)
            .num(self.ttl_ms())
            .arg("v")
            .arg(record.revision.as_str())
            .arg("caps")
            .arg(record.client_capabilities.to_string())
            .arg("c")
            .num(record.created_ms);
        if let Some(info) = record
            .client_info
            .as_ref()
            .and_then(|i| serde_json::to_string(i).ok())
        {
            cmd = cmd.arg("info").arg(info);
        }
        if let Some(level) = record.log_level {
            cmd = cmd.arg("lvl").arg(level_name(level));
        }
        if let Some(principal) = &record.principal {
            cmd = cmd.arg("p").arg(principal.as_bytes());
        }
        for uri in &record.subscriptions {
            cmd = cmd.arg(format!("sub:{uri}")).arg("1");
        }
        // The read makes Redis track the key for this connection, so that a change made
        // elsewhere reaches this shard's copy.
        let lookup = self.link.call(&[cmd, Cmd::new("EXISTS").arg(key)]);
        map(lookup, |replies| match replies.first() {
            Some(Reply::Error(e)) => Err(StoreError::Unavailable(format!("Redis: {e}"))),
            _ => Ok(()),
        })
    }

    fn load(&self, id: &str) -> Lookup<Result<Option<SessionRecord>, StoreError>> {
        let id = id.to_string();
        map(
            self.link.call(&[Cmd::new("HGETALL").arg(self.key(&id))]),
            move |replies| match replies.first() {
                Some(Reply::Error(e)) => Err(StoreError::Unavailable(format!("Redis: {e}"))),
                Some(reply) => Ok(record(&id, reply)),
                None => Ok(None),
            },
        )
    }

    fn change(&self, id: &str, change: SessionChange) -> Lookup<Result<(), StoreError>> {
        let (op, field, value) = match change {
            SessionChange::LogLevel(level) => ("set", "lvl".to_string(), level_name(level)),
            SessionChange::Subscribe(uri) => ("set", format!("sub:{uri}"), "1".to_string()),
            SessionChange::Unsubscribe(uri) => ("del", format!("sub:{uri}"), String::new()),
        };
        let cmd = Cmd::new("EVAL")
            .arg(CHANGE)
            .num(1)
            .arg(self.key(id))
            .arg(op)
            .arg(field)
            .arg(value);
        map(self.link.call(&[cmd]), |replies| match replies.first() {
            Some(Reply::Error(e)) => Err(StoreError::Unavailable(format!("Redis: {e}"))),
            _ => Ok(()),
        })
    }

    fn touch(&self, id: &str, _now_ms: u64) {
        let mut touches = self.touches.borrow_mut();
        if touches.len() < MAX_TOUCHES {
            touches.push(id.to_string());
        }
    }

    fn remove(&self, id: &str) -> Lookup<Result<bool, StoreError>> {
        map(
            self.link.call(&[Cmd::new("DEL").arg(self.key(id))]),
            |replies| match replies.first() {
                Some(Reply::Int(n)) => Ok(*n > 0),
                Some(Reply::Error(e)) => Err(StoreError::Unavailable(format!("Redis: {e}"))),
                _ => Ok(false),
            },
        )
    }

    fn touch_every(&self) -> Duration {
        // Each touch is a write other nodes' copies hear of (and reload after): a tenth of the
        // time to live keeps a session in use alive at a small fraction of that cost.
        (self.ttl / 10).max(Duration::from_secs(1))
    }

    fn generation(&self) -> u64 {
        self.staleness.generation.get()
    }

    fn stale(&self, id: &str, at: u64) -> bool {
        self.staleness.stale(id, at)
    }

    fn on_stale(&self, listener: Box<dyn Fn(&str)>) {
        *self.staleness.listener.borrow_mut() = Some(listener);
    }

    fn unavailable(&self) -> Option<String> {
        self.link.unavailable()
    }
}

/// Turn the link's replies into a store's answer, now or later.
fn map<T: 'static>(
    lookup: Lookup<Result<Vec<Reply>, StoreError>>,
    f: impl FnOnce(&[Reply]) -> Result<T, StoreError> + 'static,
) -> Lookup<Result<T, StoreError>> {
    match lookup {
        Lookup::Ready(result) => Lookup::Ready(result.and_then(|r| f(&r))),
        Lookup::Later(replies) => {
            Lookup::Later(Box::pin(async move { replies.await.and_then(|r| f(&r)) }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn a_stored_hash_reads_back_as_a_record() {
        let reply = Reply::Map(vec![
            (bulk("v"), bulk("2025-06-18")),
            (bulk("caps"), bulk(r#"{"roots":{}}"#)),
            (bulk("info"), bulk(r#"{"name":"c","version":"1"}"#)),
            (bulk("lvl"), bulk("warning")),
            (bulk("p"), bulk("alice")),
            (bulk("c"), bulk("17")),
            (bulk("sub:demo://a"), bulk("1")),
        ]);
        let r = record("n1.00ab", &reply).unwrap_or_else(|| panic!("not a record"));
        assert_eq!(r.revision, ProtocolVersion::V2025_06_18);
        assert_eq!(r.log_level, Some(LogLevel::Warning));
        assert_eq!(r.principal.as_deref(), Some("alice"));
        assert_eq!(r.client_info.map(|i| i.name), Some("c".to_string()));
        assert_eq!(r.created_ms, 17);
        assert!(r.subscriptions.contains("demo://a"));
        assert_eq!(level_name(LogLevel::Warning), "warning");
    }

    #[test]
    fn a_gone_key_is_no_record() {
        assert_eq!(record("x", &Reply::Map(Vec::new())), None);
        assert_eq!(record("x", &Reply::Array(Vec::new())), None);
        assert_eq!(record("x", &Reply::Nil), None);
    }

    #[test]
    fn invalidations_mark_copies_stale() {
        let s = Staleness::default();
        let loaded = s.generation.get();
        s.one("a");
        let stale = |id: &str, at: u64| s.stale(id, at);
        assert!(stale("a", loaded));
        assert!(!stale("b", loaded));
        let reloaded = s.generation.get();
        assert!(!stale("a", reloaded));
        s.all();
        assert!(stale("b", reloaded));
    }
}
