//! The cluster key ring: nodes given the same ring (`--cluster-key`, `--cluster-key-file`,
//! `RINGMCP_CLUSTER_KEY`) open each other's pagination cursors, so a paginated 2026-07-28 list
//! works when a load balancer sends each page to another node; a node with another key refuses
//! them with -32602; after a rotation the previous key still opens; a bad key stops the server
//! with exit status 2 before it listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A ring line with a secret made of one repeated byte (base64 of 32 bytes).
fn key(id: &str, byte: u8) -> String {
    use std::fmt::Write;
    // Standard base64 of 32 equal bytes, written out to avoid a dependency in the test.
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = [byte; 32];
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    let mut line = String::new();
    write!(line, "{id} {out}").unwrap();
    line
}

fn node(ring: &str) -> Server {
    Server::tcp(&["--page-size", "1", "--cluster-key", ring])
}

/// The first page's cursor of a 2026-07-28 tools/list on `server`.
fn first_cursor(server: &Server) -> String {
    let mut c = server.connect();
    let page = c.call(1, "tools/list", modern(Value::Null));
    page["nextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no nextCursor with one tool per page: {page}"))
        .to_owned()
}

/// The tools/list answer (or error) of `server` for `cursor`.
fn page(server: &Server, cursor: &str) -> Value {
    let mut c = server.connect();
    c.request(2, "tools/list", modern(json!({"cursor": cursor})));
    c.response(2)
}

#[test]
fn nodes_sharing_the_ring_open_each_others_cursors() {
    let ring = key("k1", 7);
    let (a, b) = (node(&ring), node(&ring));
    let cursor = first_cursor(&a);
    assert!(cursor.starts_with("k1."), "the key id is inside: {cursor}");
    let second = page(&b, &cursor);
    let tools = second["result"]["tools"].as_array();
    assert_eq!(
        tools.map(Vec::len),
        Some(1),
        "page 2 from the other node: {second}"
    );
    let mut c = a.connect();
    let first = c.call(3, "tools/list", modern(Value::Null));
    assert_ne!(
        second["result"]["tools"][0]["name"], first["tools"][0]["name"],
        "the cursor moved on to the second tool"
    );
    // A node with another secret under the same id refuses it.
    let other = node(&key("k1", 8));
    let refused = page(&other, &cursor);
    assert_eq!(code(&refused["error"]), -32602, "{refused}");
}

#[test]
fn a_rotated_ring_still_opens_the_previous_keys_cursors() {
    let old = node(&key("k1", 7));
    let rotated = node(&format!("{}, {}", key("k2", 9), key("k1", 7)));
    let before = first_cursor(&old);
    let r = page(&rotated, &before);
    assert!(
        r["result"]["tools"].is_array(),
        "old cursor on the rotated node: {r}"
    );
    let after = first_cursor(&rotated);
    assert!(after.starts_with("k2."), "the new key seals: {after}");
    // A node not rotated yet cannot open what the new key sealed.
    let r = page(&old, &after);
    assert_eq!(code(&r["error"]), -32602, "{r}");
}

#[test]
fn without_a_ring_each_process_has_its_own_key() {
    let (a, b) = (
        Server::tcp(&["--page-size", "1"]),
        Server::tcp(&["--page-size", "1"]),
    );
    let cursor = first_cursor(&a);
    assert!(page(&a, &cursor)["result"]["tools"].is_array());
    let r = page(&b, &cursor);
    assert_eq!(code(&r["error"]), -32602, "{r}");
}

#[test]
fn a_bad_ring_stops_the_server_with_status_2() {
    for (ring, says) in [
        ("k1 c2hvcnQ=", "at least 32"),
        ("k1", "expected"),
        ("", "no key"),
    ] {
        let mut server = Server {
            child: std::process::Command::new(bin())
                .args(["serve", "--tcp", "127.0.0.1:0", "--cluster-key", ring])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
            port: None,
            stderr: std::sync::mpsc::channel().1,
        };
        let stderr = lines_of(server.child.stderr.take().unwrap());
        assert_eq!(
            server.wait_exit(Duration::from_secs(10)),
            Some(2),
            "ring {ring:?}"
        );
        // The process ended, so its stderr ends: read all of it.
        let text: Vec<String> = stderr.iter().collect();
        assert!(
            text.iter()
                .any(|l| l.contains("cluster key") && l.contains(says)),
            "ring {ring:?}: stderr {text:?}"
        );
    }
}
