//! The node id lease: a key `<prefix>:node:<id>` holding a random token for a few seconds, taken
//! when a node starts and refreshed while it runs, so that two live nodes never share an id (ids
//! of sessions start with it). Taking it and giving it back happen on the main thread, before the
//! shards start and after they end, over a short blocking connection ([`Blocking`]) that also
//! proves Redis is reachable with the configured credentials; the refresh runs on shard 0's link.

use super::config::ClusterConfig;
use super::link::RedisLink;
use super::resp::{self, Cmd, Reply};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a lease lives without a refresh: a node killed without a word frees its id after this.
pub(crate) const LEASE: Duration = Duration::from_secs(5);
/// How often a running node refreshes its lease.
const REFRESH: Duration = Duration::from_secs(1);

/// Refresh a lease that is still ours.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0";

/// Give a lease back if it is still ours.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
return redis.call('DEL', KEYS[1]) end return 0";

/// Why a node cannot join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// Redis cannot be reached, or refused the credentials.
    #[error("cannot use Redis at {url}: {why}")]
    Redis {
        /// The URL (password hidden).
        url: String,
        /// What went wrong.
        why: String,
    },
    /// A live node holds this node's id.
    #[error("node id {0:?} is held by a live node (a node that died frees it within {secs} s)", secs = LEASE.as_secs())]
    NodeIdTaken(String),
}

/// The commands every connection to Redis starts with: RESP3 with the credentials and a name
/// Redis shows in `CLIENT LIST`, then the database.
pub(crate) fn hello(config: &ClusterConfig, name: &str) -> Vec<Cmd> {
    let url = &config.redis;
    let mut hello = Cmd::new("HELLO").arg("3");
    if let Some(password) = &url.password {
        hello = hello
            .arg("AUTH")
            .arg(url.user.as_deref().unwrap_or("default"))
            .arg(password);
    }
    let mut cmds = vec![hello.arg("SETNAME").arg(name)];
    if url.db != 0 {
        cmds.push(Cmd::new("SELECT").num(u64::from(url.db)));
    }
    cmds
}

/// A short blocking connection for the main thread.
struct Blocking {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Blocking {
    fn connect(addr: SocketAddr, hello: &[Cmd]) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        stream.set_nodelay(true)?;
        let mut this = Blocking {
            stream,
            buf: Vec::new(),
        };
        for reply in this.call(hello)? {
            if let Some(e) = reply.error() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    e.to_string(),
                ));
            }
        }
        Ok(this)
    }

    fn call(&mut self, cmds: &[Cmd]) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        for cmd in cmds {
            cmd.write(&mut out);
        }
        self.stream.write_all(&out)?;
        let mut replies = Vec::with_capacity(cmds.len());
        let mut chunk = [0u8; 4096];
        while replies.len() < cmds.len() {
            match resp::decode(&self.buf).map_err(io::Error::other)? {
                Some((Reply::Push(_), used)) => {
                    self.buf.drain(..used);
                }
                Some((reply, used)) => {
                    self.buf.drain(..used);
                    replies.push(reply);
                }
                None => {
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "Redis closed the connection",
                        ));
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        Ok(replies)
    }
}

/// This node's hold on its id.
#[derive(Clone)]
pub(crate) struct Lease {
    key: String,
    token: String,
}

fn lease_key(config: &ClusterConfig) -> String {
    node_key(&config.key_prefix, &config.node_id)
}

/// The lease key of node `node` under `prefix`: whoever needs to know whether a node lives
/// (the task store, for the tasks it ran) reads it.
pub(crate) fn node_key(prefix: &str, node: &str) -> String {
    format!("{prefix}:node:{node}")
}

impl Lease {
    /// The random token this run of the node holds its id with: a restart of the same node id
    /// holds another, so what the previous run left behind is known for a dead node's.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Reach Redis and take the node id. A lease held by someone else is waited on for as long as
    /// a dead node's lease lives (a restart right after a crash), then refused.
    pub(crate) fn take(config: &ClusterConfig, addr: SocketAddr) -> Result<Lease, JoinError> {
        let fail = |e: io::Error| JoinError::Redis {
            url: config.redis.to_string(),
            why: e.to_string(),
        };
        let mut conn = Blocking::connect(addr, &hello(config, "ringmcp-start")).map_err(fail)?;
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).map_err(|e| fail(io::Error::other(e.to_string())))?;
        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let key = lease_key(config);
        let deadline = Instant::now() + LEASE + Duration::from_secs(1);
        loop {
            let set = Cmd::new("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .num(LEASE.as_millis() as u64);
            let reply = conn.call(&[set]).map_err(fail)?;
            match reply.first() {
                Some(Reply::Status(_)) => return Ok(Lease { key, token }),
                Some(Reply::Error(e)) => {
                    return Err(fail(io::Error::other(e.clone())));
                }
                _ if Instant::now() >= deadline => {
                    return Err(JoinError::NodeIdTaken(config.node_id.clone()))
                }
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// Keep the lease alive from `link` (shard 0's) until the shard stops.
    pub(crate) fn keep(&self, link: &Rc<RedisLink>) {
        let weak = Rc::downgrade(link);
        let key = self.key.clone();
        let token = self.token.clone();
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(REFRESH).await;
                let Some(link) = weak.upgrade() else { break };
                if link.unavailable().is_some() {
                    continue;
                }
                let renew = Cmd::new("EVAL")
                    .arg(RENEW)
                    .num(1)
                    .arg(&key)
                    .arg(&token)
                    .num(LEASE.as_millis() as u64);
                let done = link.call(&[renew]);
                drop(link);
                if let Ok(replies) = done.await {
                    if replies.first() == Some(&Reply::Int(0)) {
                        tracing::error!(
                            key = %key,
                            "another node holds this node's id: session ids may collide"
                        );
                    }
                }
            }
        })
        .detach();
    }

    /// Give the id back (a clean stop), so that a restart need not wait for the lease to lapse.
    pub(crate) fn release(self, config: &ClusterConfig, addr: SocketAddr) {
        let result = Blocking::connect(addr, &hello(config, "ringmcp-stop")).and_then(|mut c| {
            c.call(&[Cmd::new("EVAL")
                .arg(RELEASE)
                .num(1)
                .arg(&self.key)
                .arg(&self.token)])
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "node id lease not given back; it lapses by itself");
        }
    }
}
