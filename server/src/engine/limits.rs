//! [`Limits`]: the protocol limits an engine enforces (message size, page size, requests in
//! flight, task retention, rate limit, how long request states live), all set from the command line. Plain data: it must not
//! reach into sessions or sockets.

use std::time::Duration;

/// Protocol limits of the engine (all configurable from the command line).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    pub max_message_bytes: usize,
    /// Items per page of every list.
    pub page_size: usize,
    /// Requests one session may have running at once.
    pub max_inflight_per_session: usize,
    /// `ttlMs` on cacheable 2026-07-28 results.
    pub cache_ttl_ms: u64,
    /// How long a handler waits for the client's answer to a server-to-client request.
    pub client_request_timeout: Duration,
    /// How long a task is kept (`ttlMs`).
    pub task_ttl: Duration,
    /// Suggested task polling interval (`pollIntervalMs`).
    pub task_poll: Duration,
    /// Tasks one shard holds at most.
    pub max_tasks: usize,
    /// Requests per second one client may send (token bucket; 0 = no limit).
    pub rate_limit_rps: f64,
    /// Requests one client may send in a burst.
    pub rate_limit_burst: u32,
    /// How long a sealed 2026-07-28 `requestState` is accepted back (a human may be answering
    /// an elicitation meanwhile).
    pub request_state_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            page_size: 100,
            max_inflight_per_session: 256,
            cache_ttl_ms: 0,
            client_request_timeout: Duration::from_secs(60),
            task_ttl: Duration::from_secs(300),
            task_poll: Duration::from_millis(500),
            max_tasks: 10_000,
            rate_limit_rps: 0.0,
            rate_limit_burst: 100,
            request_state_ttl: Duration::from_secs(600),
        }
    }
}
