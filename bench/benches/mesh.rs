//! The channel mesh between two shards (`cargo bench -p ringmcp-bench --bench mesh`): two glommio
//! executors pinned to CPU 0 and CPU 1 joined by ringmcp's [`Mesh`] (glommio's lock-free
//! `channel_mesh` behind one ordered queue per peer), as the server runs them.
//!
//! - `stream`: shard 0 sends resource-update messages to shard 1 as fast as it can; the time per
//!   iteration is the time per message (messages per second = 1 / that).
//! - `round_trip/<spin>`: shard 0 sends, shard 1 answers, repeat; the time per iteration is one
//!   round trip, so one cross-shard hop is half of it. Measured with executors that park at once
//!   (the server's default) and with `--spin-us 100` (they spin 100 us before parking).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_lite::StreamExt;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::channels::shared_channel::ConnectedReceiver;
use glommio::{LocalExecutorBuilder, Placement};
use ringmcp::internals::Mesh;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn executor(cpu: usize, spin: Duration) -> LocalExecutorBuilder {
    LocalExecutorBuilder::new(Placement::Fixed(cpu))
        .spin_before_park(spin)
        .io_memory(256 << 10)
}

/// Run `role` on two executors (CPU 0 and CPU 1) joined by a two-peer mesh. Peer ids follow the
/// order in which executors join, so each executor learns its role from its id; returns what
/// peer 0 returned.
fn on_two_shards<F, Fut>(spin: Duration, role: F) -> Duration
where
    F: Fn(usize, Rc<Mesh<MeshMsg>>, ConnectedReceiver<MeshMsg>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<Duration>> + 'static,
{
    let builder = MeshBuilder::<MeshMsg, _>::full(2, 1024);
    let handles: Vec<_> = (0..2)
        .map(|cpu| {
            let builder = builder.clone();
            let role = role.clone();
            executor(cpu, spin)
                .spawn(move || async move {
                    let (senders, mut receivers) = builder.join().await.unwrap();
                    let me = senders.peer_id();
                    let from_peer = receivers.streams().into_iter().next().unwrap().1;
                    let mesh = Mesh::new(senders);
                    let result = role(me, mesh.clone(), from_peer).await;
                    // Let queued messages leave before the executor goes.
                    while mesh.queued() > 0 {
                        glommio::executor().yield_now().await;
                    }
                    glommio::timer::sleep(Duration::from_millis(1)).await;
                    result
                })
                .unwrap()
        })
        .collect();
    handles
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .next()
        .unwrap()
}

/// The message of the runs: a resource update's size class (a URI string), as the server sends.
type MeshMsg = String;

fn msg() -> MeshMsg {
    String::new()
}

/// Peer 0 streams `n` messages to peer 1, which acknowledges the last; returns the time from the
/// first send to the acknowledgement.
fn stream(n: u64) -> Duration {
    on_two_shards(Duration::ZERO, move |me, mesh, mut from_peer| async move {
        if me == 0 {
            let start = Instant::now();
            for i in 0..n {
                mesh.send(1, msg());
                if i % 256 == 255 {
                    glommio::yield_if_needed().await;
                }
            }
            from_peer.next().await.expect("acknowledgement");
            let elapsed = start.elapsed();
            mesh.send(1, msg());
            Some(elapsed)
        } else {
            for _ in 0..n {
                from_peer.next().await.expect("message lost");
            }
            mesh.send(0, msg());
            // Stay until peer 0 has the acknowledgement (its final message).
            from_peer.next().await;
            None
        }
    })
}

/// `n` round trips peer 0 -> peer 1 -> peer 0; returns their total time.
fn round_trips(n: u64, spin: Duration) -> Duration {
    on_two_shards(spin, move |me, mesh, mut from_peer| async move {
        if me == 0 {
            let start = Instant::now();
            for _ in 0..n {
                mesh.send(1, msg());
                from_peer.next().await.expect("answer");
            }
            let elapsed = start.elapsed();
            mesh.send(1, msg());
            Some(elapsed)
        } else {
            for _ in 0..n {
                from_peer.next().await.expect("message lost");
                mesh.send(0, msg());
            }
            from_peer.next().await;
            None
        }
    })
}

fn mesh(c: &mut Criterion) {
    let mut g = c.benchmark_group("mesh");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("stream", |b| b.iter_custom(|iters| stream(iters.max(1))));
    for (name, spin) in [
        ("park", Duration::ZERO),
        ("spin100us", Duration::from_micros(100)),
    ] {
        g.bench_function(format!("round_trip/{name}"), |b| {
            b.iter_custom(|iters| round_trips(iters.max(1), spin))
        });
    }
    g.finish();
}

criterion_group!(benches, mesh);
criterion_main!(benches);
