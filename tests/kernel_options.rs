//! The kernel options for bare metal (`tuning/README.md`) change how the net ring talks to the
//! kernel, not what the server answers: with each one on, sessions over TCP and HTTP get every
//! answer, including the first after the ring's helpers have gone idle, and the server stops on
//! SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::json;
use std::time::Duration;

/// Eight clients on two shards, each a legacy session making 40 calls; every tenth call comes
/// after a pause longer than the polling thread's idle time, so it has gone to sleep and the
/// shard must wake it (`IORING_SQ_NEED_WAKEUP`) for the request's answer to leave at all; every
/// seventh carries 3,000 bytes of text, more than one small receive buffer holds.
fn sessions_with(via: Via, options: &[&str]) {
    let mut args = vec!["--cores", "2"];
    args.extend_from_slice(options);
    let mut server = Server::on(via, &args);
    let clients: Vec<Client> = (0..8).map(|_| server.client(via)).collect();
    std::thread::scope(|s| {
        for (client, mut c) in clients.into_iter().enumerate() {
            s.spawn(move || {
                c.initialize("2025-11-25");
                for i in 0..40 {
                    if i % 10 == 9 {
                        std::thread::sleep(Duration::from_millis(30));
                    }
                    let mut text = format!("client {client} call {i}");
                    if i % 7 == 6 {
                        text.push_str(&"x".repeat(3000));
                    }
                    let r = c.call(
                        i + 1,
                        "tools/call",
                        json!({"name": "echo", "arguments": {"text": text}}),
                    );
                    assert_eq!(text_of(&r), text, "{options:?}");
                }
            });
        }
    });
    // SAFETY: signalling the child this test spawned and still owns.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(
        server.wait_exit(Duration::from_secs(10)),
        Some(0),
        "the server stops on SIGTERM with {options:?}"
    );
}

fn sqpoll(via: Via) {
    sessions_with(via, &["--sqpoll-idle-ms", "5"]);
}

for_each_transport!(sqpoll: tcp => Tcp, http => Http);

/// Few small buffers, so that they fill with several connections' requests, go back to the ring
/// and are used again, and large requests span buffers.
fn incremental_buffers(via: Via) {
    sessions_with(
        via,
        &[
            "--recv-incremental",
            "--recv-buffers",
            "4",
            "--recv-buffer-size",
            "1024",
        ],
    );
}

for_each_transport!(incremental_buffers: tcp => Tcp, http => Http);

/// Accepted sockets as registered descriptors: the sessions above, then, on one shard whose
/// table has eight slots, twenty clients one after the other (each a session and a call, over a
/// connection or three, closed before the next client starts): each closed connection's slot
/// must be shut down and closed through the ring and reused, or the table fills and accepts
/// fail; and a shutdown must not reach the socket that reuses its slot.
fn direct_descriptors(via: Via) {
    sessions_with(via, &["--direct-descriptors"]);
    let server = Server::on(
        via,
        &[
            "--cores",
            "1",
            "--direct-descriptors",
            "--max-connections",
            "8",
        ],
    );
    for i in 0..20 {
        let mut c = server.client(via);
        c.initialize("2025-11-25");
        let r = c.call(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": format!("connection {i}")}}),
        );
        assert_eq!(text_of(&r), format!("connection {i}"));
    }
}

for_each_transport!(direct_descriptors: tcp => Tcp, http => Http);

#[test]
fn direct_descriptors_refuse_settings_that_need_the_peer_address() {
    for extra in [
        &["--trusted-proxy", "10.0.0.0/8"][..],
        &["--rate-limit-rps", "100"][..],
    ] {
        let out = std::process::Command::new(bin())
            .args(["serve", "--http", "127.0.0.1:0", "--direct-descriptors"])
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--direct-descriptors cannot be combined"),
            "{stderr}"
        );
    }
}
