//! Per-shard metrics: plain counters in `Cell`s owned by the shard (no shared atomics on the
//! request path). A scrape of `/metrics` on any shard asks every other shard for a snapshot over
//! the mesh and renders them all in the Prometheus text format, one series per shard.

use ringmcp_proto::dispatch::REQUEST_METHODS;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Upper bounds of the request latency histogram, in seconds.
pub(crate) const LATENCY_BUCKETS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0,
];

/// One shard's live counters.
#[derive(Default)]
pub struct ShardMetrics {
    /// Connections accepted.
    pub accepted: Cell<u64>,
    /// Connections open now.
    pub open: Cell<u64>,
    /// Legacy HTTP sessions held now.
    pub sessions: Cell<u64>,
    /// Bytes received.
    pub bytes_in: Cell<u64>,
    /// Bytes sent.
    pub bytes_out: Cell<u64>,
    /// Messages sent to other shards.
    pub mesh_sent: Cell<u64>,
    /// Messages received from other shards.
    pub mesh_received: Cell<u64>,
    requests: RefCell<BTreeMap<(&'static str, &'static str), u64>>,
    latency: RefCell<[u64; LATENCY_BUCKETS.len() + 1]>,
    latency_sum: Cell<f64>,
}

fn bump(c: &Cell<u64>, by: u64) {
    c.set(c.get().wrapping_add(by));
}

impl ShardMetrics {
    /// Add to a counter.
    pub fn add(c: &Cell<u64>, by: u64) {
        bump(c, by)
    }

    /// A request finished: method (bounded set of names), outcome and latency.
    pub fn request(&self, method: &'static str, ok: bool, took: Duration) {
        *self
            .requests
            .borrow_mut()
            .entry((method, if ok { "ok" } else { "error" }))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency.borrow_mut()[i] += 1;
        self.latency_sum.set(self.latency_sum.get() + secs);
    }

    /// A copy that can cross to another shard.
    pub fn snapshot(&self, shard: usize, inflight: u64) -> Snapshot {
        Snapshot {
            shard,
            accepted: self.accepted.get(),
            open: self.open.get(),
            sessions: self.sessions.get(),
            inflight,
            bytes_in: self.bytes_in.get(),
            bytes_out: self.bytes_out.get(),
            mesh_sent: self.mesh_sent.get(),
            mesh_received: self.mesh_received.get(),
            mesh_queued: 0,
            requests: self
                .requests
                .borrow()
                .iter()
                .map(|(&(m, o), &n)| (m, o, n))
                .collect(),
            latency: *self.latency.borrow(),
            latency_sum: self.latency_sum.get(),
        }
    }
}

/// One shard's counters at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Shard index.
    pub shard: usize,
    accepted: u64,
    open: u64,
    sessions: u64,
    inflight: u64,
    bytes_in: u64,
    bytes_out: u64,
    mesh_sent: u64,
    mesh_received: u64,
    mesh_queued: u64,
    requests: Vec<(&'static str, &'static str, u64)>,
    latency: [u64; LATENCY_BUCKETS.len() + 1],
    latency_sum: f64,
}

/// A per-shard series: name, type, help, and how to read it from a snapshot.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Snapshot) -> u64,
);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

impl Snapshot {
    pub(crate) fn set_mesh(&mut self, sent: u64, queued: u64) {
        self.mesh_sent = sent;
        self.mesh_queued = queued;
    }
}

/// Render snapshots (one per shard) in the Prometheus text exposition format.
pub(crate) fn render(mut shards: Vec<Snapshot>) -> String {
    shards.sort_by_key(|s| s.shard);
    let mut out = String::with_capacity(4096);
    let simple: [Family; 9] = [
        (
            "ringmcp_connections_accepted_total",
            "counter",
            "Connections accepted.",
            |s| s.accepted,
        ),
        (
            "ringmcp_connections_open",
            "gauge",
            "Connections open.",
            |s| s.open,
        ),
        (
            "ringmcp_sessions",
            "gauge",
            "Legacy HTTP sessions held.",
            |s| s.sessions,
        ),
        (
            "ringmcp_inflight_requests",
            "gauge",
            "Requests being handled.",
            |s| s.inflight,
        ),
        (
            "ringmcp_received_bytes_total",
            "counter",
            "Bytes received from clients.",
            |s| s.bytes_in,
        ),
        (
            "ringmcp_sent_bytes_total",
            "counter",
            "Bytes sent to clients.",
            |s| s.bytes_out,
        ),
        (
            "ringmcp_mesh_messages_sent_total",
            "counter",
            "Messages sent to other shards.",
            |s| s.mesh_sent,
        ),
        (
            "ringmcp_mesh_messages_received_total",
            "counter",
            "Messages received from other shards.",
            |s| s.mesh_received,
        ),
        (
            "ringmcp_mesh_queue_depth",
            "gauge",
            "Messages waiting to be sent to other shards.",
            |s| s.mesh_queued,
        ),
    ];
    for (name, kind, help, get) in simple {
        family(&mut out, name, kind, help);
        for s in &shards {
            let _ = writeln!(out, "{name}{{shard=\"{}\"}} {}", s.shard, get(s));
        }
    }
    family(
        &mut out,
        "ringmcp_requests_total",
        "counter",
        "JSON-RPC requests answered, by method and outcome.",
    );
    for s in &shards {
        for (method, outcome, n) in &s.requests {
            let _ = writeln!(out, "ringmcp_requests_total{{shard=\"{}\",method=\"{method}\",outcome=\"{outcome}\"}} {n}", s.shard);
        }
    }
    let name = "ringmcp_request_duration_seconds";
    family(
        &mut out,
        name,
        "histogram",
        "Time from a request's arrival to its answer.",
    );
    for s in &shards {
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += s.latency[i];
            let _ = writeln!(
                out,
                "{name}_bucket{{shard=\"{}\",le=\"{bound}\"}} {cumulative}",
                s.shard
            );
        }
        cumulative += s.latency[LATENCY_BUCKETS.len()];
        let _ = writeln!(
            out,
            "{name}_bucket{{shard=\"{}\",le=\"+Inf\"}} {cumulative}",
            s.shard
        );
        let _ = writeln!(out, "{name}_sum{{shard=\"{}\"}} {}", s.shard, s.latency_sum);
        let _ = writeln!(out, "{name}_count{{shard=\"{}\"}} {cumulative}", s.shard);
    }
    out
}

/// The method label of a request: known MCP methods by name, anything else as "other" (bounded
/// cardinality).
pub(crate) fn method_label(method: &str) -> &'static str {
    const NOTIFICATIONS: [&str; 2] = ["notifications/cancelled", "notifications/initialized"];
    REQUEST_METHODS
        .iter()
        .chain(NOTIFICATIONS.iter())
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_per_shard_series() {
        let a = ShardMetrics::default();
        a.request("tools/call", true, Duration::from_micros(80));
        a.request("tools/call", false, Duration::from_secs(20));
        ShardMetrics::add(&a.accepted, 3);
        let b = ShardMetrics::default();
        b.request("tools/list", true, Duration::from_micros(10));
        let text = render(vec![b.snapshot(1, 0), a.snapshot(0, 2)]);
        assert!(
            text.contains("ringmcp_connections_accepted_total{shard=\"0\"} 3"),
            "{text}"
        );
        assert!(text.contains(
            "ringmcp_requests_total{shard=\"0\",method=\"tools/call\",outcome=\"ok\"} 1"
        ));
        assert!(text.contains(
            "ringmcp_requests_total{shard=\"0\",method=\"tools/call\",outcome=\"error\"} 1"
        ));
        assert!(
            text.contains("ringmcp_request_duration_seconds_bucket{shard=\"0\",le=\"0.0001\"} 1")
        );
        assert!(text.contains("ringmcp_request_duration_seconds_bucket{shard=\"0\",le=\"+Inf\"} 2"));
        assert!(text.contains("ringmcp_inflight_requests{shard=\"0\"} 2"));
        assert!(text.contains(
            "ringmcp_requests_total{shard=\"1\",method=\"tools/list\",outcome=\"ok\"} 1"
        ));
        assert_eq!(method_label("nope/x"), "other");
    }
}
