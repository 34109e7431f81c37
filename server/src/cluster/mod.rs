//! Cluster mode: what lets several nodes behind one load balancer serve the same clients, with
//! what must outlive a node kept in Redis. Each shard dials its own Redis connection through its
//! net ring ([`RedisLink`], spoken by [`RedisConn`]: RESP3, pipelined, a bounded queue, reconnect
//! with back-off) and keeps legacy sessions there through [`RedisSessionStore`] and spent
//! single-use request states through [`RedisOnceStore`] and tasks through [`RedisTaskStore`],
//! implementations of the store seams; [`RedisNoticeLog`] stores each notice once and [`Bus`]
//! carries notices and clients' answers between nodes over Redis pub/sub. The node's id is
//! leased in Redis so two live nodes never share it.
//!
//! This layer implements seams of [`crate::store`] over the net ring; it must not know HTTP,
//! the engine or the SDK. Nothing here runs unless the server is started with a
//! [`ClusterConfig`]; without one, a node keeps everything in memory, as before.

mod bus;
mod config;
mod conn;
mod lease;
mod link;
mod notices;
mod once;
mod resp;
mod sessions;
mod tasks;

pub(crate) use bus::Bus;
pub use config::{ClusterConfig, ClusterConfigError, RedisUrl};
pub(crate) use conn::RedisConn;
pub use lease::JoinError;
pub(crate) use lease::Lease;
pub(crate) use link::RedisLink;
pub(crate) use notices::RedisNoticeLog;
pub(crate) use once::RedisOnceStore;
pub(crate) use sessions::RedisSessionStore;
pub(crate) use tasks::RedisTaskStore;

use link::LinkConfig;
use resp::Cmd;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

/// What a shard needs to join the cluster: the settings and Redis's resolved address.
#[derive(Debug, Clone)]
pub(crate) struct ClusterPlan {
    pub(crate) config: ClusterConfig,
    pub(crate) addr: SocketAddr,
}

/// One shard's part of the cluster.
pub(crate) struct ShardCluster {
    /// The shard's Redis connection (started once the shard's net ring can dial).
    pub(crate) link: Rc<RedisLink>,
    /// Legacy sessions in Redis.
    pub(crate) sessions: Rc<RedisSessionStore>,
    /// Spent single-use request states, in Redis so that every node refuses a second use.
    pub(crate) once: Rc<RedisOnceStore>,
    /// The cluster's log of notices, which carries them to every shard of every node.
    pub(crate) notices: Rc<RedisNoticeLog>,
    /// Notices and relayed answers to and from the other nodes.
    pub(crate) bus: Rc<Bus>,
    /// Tasks in Redis, so that every node answers for a task any node runs.
    pub(crate) tasks: Rc<RedisTaskStore>,
}

impl ClusterPlan {
    /// Resolve Redis's address and check the settings; run on the main thread.
    pub(crate) fn new(config: ClusterConfig) -> Result<Self, JoinError> {
        let url = config.redis.to_string();
        if config.redis.tls {
            return Err(JoinError::Redis {
                url,
                why: "rediss:// (TLS to Redis) is not supported yet; reach Redis over a \
                      private network, or through a TLS tunnel such as stunnel, with redis://"
                    .into(),
            });
        }
        let addr = config.redis.resolve().map_err(|e| JoinError::Redis {
            url,
            why: e.to_string(),
        })?;
        Ok(ClusterPlan { config, addr })
    }

    /// Shard `shard`'s link and stores; sessions live `session_ttl` after their last use, and
    /// tasks created here are run by this node under `lease`.
    pub(crate) fn shard(&self, shard: usize, session_ttl: Duration, lease: &Lease) -> ShardCluster {
        let name = format!("ringmcp-{}-{shard}", self.config.node_id);
        let mut handshake = lease::hello(&self.config, &name);
        // Watch every key this connection reads: a change made elsewhere comes back as an
        // invalidation push. NOLOOP: this connection's own writes are already in its copies.
        handshake.push(Cmd::new("CLIENT").arg("TRACKING").arg("ON").arg("NOLOOP"));
        let link = RedisLink::new(LinkConfig {
            addr: self.addr,
            handshake,
            max_in_flight: self.config.max_in_flight,
            command_timeout: self.config.command_timeout,
        });
        let sessions = RedisSessionStore::new(link.clone(), &self.config.key_prefix, session_ttl);
        let once = RedisOnceStore::new(link.clone(), &self.config.key_prefix);
        let prefix = &self.config.key_prefix;
        let notices = RedisNoticeLog::new(
            link.clone(),
            prefix,
            &Bus::channel(prefix),
            self.config.notice_log,
        );
        let bus = Bus::new(
            link.clone(),
            notices.clone(),
            prefix,
            &self.config.node_id,
            shard,
        );
        let tasks = RedisTaskStore::new(
            link.clone(),
            &self.config.key_prefix,
            &self.config.node_id,
            lease.token(),
        );
        ShardCluster {
            link,
            sessions,
            once,
            notices,
            bus,
            tasks,
        }
    }
}
