//! The command line of cluster mode: the key ring every node shares (`--cluster-key-file`,
//! `--cluster-key`) and how a node joins its cluster (`--cluster`, `--node-id`, the Redis link's
//! limits), turned into the library's [`ringmcp::ClusterConfig`] and key ring. Parsing only: what
//! the settings do is the library's.

use clap::Args;
use ringmcp::proto::seal::KeyRing;
use std::path::PathBuf;
use std::time::Duration;

/// Cluster settings of `ringmcp serve`.
#[derive(Args, Debug)]
pub(crate) struct ClusterArgs {
    /// File with the key ring that seals pagination cursors and `requestState`: one
    /// `<key id> <base64 secret of 32+ bytes>` per line; the first key seals, the others still
    /// open values sealed before a rotation. Give every node behind one load balancer the same
    /// ring. Default: one random key per process (cursors then open on this process only).
    #[arg(
        long,
        value_name = "FILE",
        env = "RINGMCP_CLUSTER_KEY_FILE",
        conflicts_with = "cluster_key"
    )]
    cluster_key_file: Option<PathBuf>,
    /// The same key ring inline, keys separated by commas (prefer the environment variable or the
    /// file: a command line is visible to every user of the host).
    #[arg(
        long,
        value_name = "KEYS",
        env = "RINGMCP_CLUSTER_KEY",
        hide_env_values = true
    )]
    cluster_key: Option<String>,
    /// Join a cluster of nodes behind one load balancer: legacy sessions are kept in this Redis
    /// (`redis://[USER:PASSWORD@]HOST:PORT[/DB]`) and any node serves any session. Needs
    /// --node-id and the cluster key. Without it: one node, everything in memory.
    #[arg(
        long,
        value_name = "URL",
        env = "RINGMCP_CLUSTER",
        requires = "node_id",
        hide_env_values = true
    )]
    cluster: Option<String>,
    /// This node's name in the cluster (1-32 of A-Z a-z 0-9 _ -), unique among live nodes: it
    /// starts the session ids the node mints. A node refuses to start while a live node holds it.
    #[arg(
        long,
        value_name = "NAME",
        env = "RINGMCP_NODE_ID",
        requires = "cluster"
    )]
    node_id: Option<String>,
    /// Milliseconds Redis may take to answer a command before the node declares the connection
    /// dead (requests that need it get 503) and reconnects.
    #[arg(long, default_value_t = 2000, env = "RINGMCP_REDIS_TIMEOUT_MS")]
    redis_timeout_ms: u64,
    /// Redis commands one shard may have awaiting replies; past it requests that need Redis are
    /// shed with 503 at once (a slow Redis costs bounded memory).
    #[arg(long, default_value_t = 4096, env = "RINGMCP_REDIS_MAX_IN_FLIGHT")]
    redis_max_in_flight: usize,
    /// Prefix of every Redis key the cluster writes (several clusters can share one Redis).
    #[arg(long, default_value = "ringmcp", env = "RINGMCP_REDIS_KEY_PREFIX")]
    redis_key_prefix: String,
    /// About how many notices (resource updates) the cluster keeps in Redis: how far back a
    /// legacy GET stream resumes with `Last-Event-ID` on another node, and how many a node that
    /// lost Redis for a while catches up on.
    #[arg(long, default_value_t = 10_000, env = "RINGMCP_REDIS_NOTICE_LOG")]
    redis_notice_log: usize,
}

impl ClusterArgs {
    /// The configured key ring, from a file or inline text; `None` when neither is given.
    pub(crate) fn keys(&self) -> Result<Option<KeyRing>, String> {
        let (text, from) = match (&self.cluster_key_file, &self.cluster_key) {
            (Some(path), _) => (
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cluster key file {}: {e}", path.display()))?,
                path.display().to_string(),
            ),
            (None, Some(text)) => (text.clone(), "--cluster-key".to_owned()),
            (None, None) => return Ok(None),
        };
        KeyRing::parse(&text)
            .map(Some)
            .map_err(|e| format!("cluster key ({from}): {e}"))
    }

    /// The cluster settings, when `--cluster` is given.
    pub(crate) fn config(&self) -> Result<Option<ringmcp::ClusterConfig>, String> {
        let (Some(url), Some(node)) = (&self.cluster, &self.node_id) else {
            return Ok(None);
        };
        let redis: ringmcp::RedisUrl = url.parse().map_err(|e| format!("--cluster: {e}"))?;
        let mut config =
            ringmcp::ClusterConfig::new(redis, node).map_err(|e| format!("--node-id: {e}"))?;
        config.command_timeout = Duration::from_millis(self.redis_timeout_ms.max(1));
        config.max_in_flight = self.redis_max_in_flight.max(1);
        config.key_prefix = self.redis_key_prefix.clone();
        config.notice_log = self.redis_notice_log.max(1);
        Ok(Some(config))
    }
}
