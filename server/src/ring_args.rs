//! The command line of each shard's net ring: queue sizes, provided receive buffers, the
//! multishot recv cap and the kernel options for bare metal (submission polling, direct
//! descriptors). Parsing only:
//! what the settings do is the library's [`ringmcp::DriverConfig`].

use clap::Args;
use ringmcp::DriverConfig;
use std::time::Duration;

/// Net ring settings of `ringmcp serve`.
#[derive(Args, Debug)]
pub(crate) struct RingArgs {
    /// Submission queue entries of each shard's net ring.
    #[arg(long, default_value_t = 1024, env = "RINGMCP_RING_ENTRIES")]
    ring_entries: u32,
    /// Completion queue entries of each shard's net ring (at least --ring-entries). Size it
    /// above the listeners one shard fans a notification out to.
    #[arg(long, default_value_t = 16384, env = "RINGMCP_CQ_ENTRIES")]
    cq_entries: u32,
    /// Provided receive buffers per shard (a power of two).
    #[arg(long, default_value_t = 512, env = "RINGMCP_RECV_BUFFERS")]
    recv_buffers: u16,
    /// Bytes per receive buffer.
    #[arg(long, default_value_t = 4096, env = "RINGMCP_RECV_BUFFER_SIZE")]
    recv_buffer_size: usize,
    /// Incremental provided buffers (Linux 6.12+; dropped on older kernels): each receive takes
    /// only the bytes it needs from a buffer, so small messages share buffers (then fewer, larger
    /// buffers serve large bodies in fewer completions).
    #[arg(long, env = "RINGMCP_RECV_INCREMENTAL")]
    recv_incremental: bool,
    /// Bytes one multishot recv takes before it is armed again (0: no cap; needs Linux 6.17,
    /// dropped on older kernels). Bounds what a paused connection still receives.
    #[arg(long, default_value_t = 16 * 1024, env = "RINGMCP_RECV_CAP_BYTES")]
    recv_cap_bytes: u32,
    /// Give each shard's ring a kernel submission-polling thread (IORING_SETUP_SQPOLL) that
    /// sleeps after this many idle milliseconds (0: off, the default). It costs a CPU per shard
    /// while busy: for machines with cores to spare (tuning/README.md has the measurement).
    #[arg(long, default_value_t = 0, env = "RINGMCP_SQPOLL_IDLE_MS")]
    sqpoll_idle_ms: u64,
    /// Bind the polling threads of --sqpoll-idle-ms to this CPU (default: the scheduler's
    /// choice).
    #[arg(long, value_name = "CPU", env = "RINGMCP_SQPOLL_CPU")]
    sqpoll_cpu: Option<u32>,
    /// Accept sockets as registered (direct) descriptors of each shard's ring: no file lookup
    /// per operation, but no process fd, so the client's address is unknown (not with
    /// --trusted-proxy, --proxy-protocol or --rate-limit-rps). Off by default: see
    /// docs/BENCHMARKS.md, "Goal 9".
    #[arg(long, env = "RINGMCP_DIRECT_DESCRIPTORS")]
    direct_descriptors: bool,
}

impl RingArgs {
    /// `cfg` with these settings.
    pub(crate) fn apply(&self, cfg: DriverConfig) -> DriverConfig {
        DriverConfig {
            ring_entries: self.ring_entries,
            cq_entries: self.cq_entries,
            recv_buffers: self.recv_buffers,
            recv_buffer_size: self.recv_buffer_size,
            recv_incremental: self.recv_incremental,
            recv_cap_bytes: self.recv_cap_bytes,
            sqpoll_idle: (self.sqpoll_idle_ms > 0)
                .then(|| Duration::from_millis(self.sqpoll_idle_ms)),
            sqpoll_cpu: self.sqpoll_cpu,
            direct_descriptors: self.direct_descriptors,
            ..cfg
        }
    }
}
