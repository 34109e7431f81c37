//! Behind a load balancer: the client a request comes from, as a trusted proxy names it through
//! `X-Forwarded-For` or a PROXY protocol header, is the one rate limits count; the same headers
//! from anyone else are ignored, and with `--proxy-protocol` a connection without a header from a
//! trusted proxy is closed unanswered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http::*;
use common::*;
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A rate so slow that no token comes back during a test, and a burst of two.
const LIMIT: [&str; 4] = ["--rate-limit-rps", "0.001", "--rate-limit-burst", "2"];

fn port(s: &Server) -> u16 {
    s.port.unwrap()
}

/// The status of a 2026-07-28 tools/list POSTed on a fresh connection with `extra` headers.
fn list_status(port: u16, extra: &[(&str, &str)]) -> u16 {
    let mut headers = modern_headers("tools/list", None);
    headers.extend_from_slice(extra);
    HttpClient::connect(port)
        .post(&headers, &modern_body(1, "tools/list", Value::Null))
        .status
}

fn from(ip: &str) -> [(&'static str, &str); 1] {
    [("X-Forwarded-For", ip)]
}

#[test]
fn a_trusted_proxy_names_the_client_and_each_client_has_its_own_bucket() {
    let mut args = vec!["--cores", "1", "--trusted-proxy", "10.0.0.0/8,127.0.0.1"];
    args.extend(LIMIT);
    let s = Server::http(&args);
    let p = port(&s);
    let a = from("203.0.113.1");
    assert_eq!(list_status(p, &a), 200);
    assert_eq!(list_status(p, &a), 200);
    assert_eq!(list_status(p, &a), 429, "client A is over its burst");
    // Another client behind the same proxy has a bucket of its own.
    assert_eq!(list_status(p, &from("203.0.113.2")), 200);
    // What client A wrote itself (the left entries) does not make it someone else; a chain of
    // trusted proxies is walked past.
    assert_eq!(list_status(p, &from("198.51.100.9, 203.0.113.1")), 429);
    assert_eq!(list_status(p, &from("203.0.113.1, 10.1.2.3")), 429);
    assert_eq!(list_status(p, &from("203.0.113.2, 10.1.2.3")), 200);
    // The proxy's own requests (no header) are its own client.
    assert_eq!(list_status(p, &[]), 200);
    // A peer that is not trusted is its own client whatever it forwards.
    let untrusted = |xff: &str| {
        let mut headers = modern_headers("tools/list", None);
        headers.push(("X-Forwarded-For", xff));
        HttpClient::connect_from(Ipv4Addr::new(127, 0, 0, 2), p)
            .post(&headers, &modern_body(1, "tools/list", Value::Null))
            .status
    };
    assert_eq!(untrusted("203.0.113.3"), 200);
    assert_eq!(untrusted("203.0.113.4"), 200);
    assert_eq!(untrusted("203.0.113.5"), 429);
}

#[test]
fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let mut args = vec!["--cores", "1"];
    args.extend(LIMIT);
    let s = Server::http(&args);
    let p = port(&s);
    assert_eq!(list_status(p, &from("203.0.113.1")), 200);
    assert_eq!(list_status(p, &from("203.0.113.2")), 200);
    assert_eq!(
        list_status(p, &from("203.0.113.3")),
        429,
        "every request counts against the peer's one bucket"
    );
}

/// A PROXY protocol v2 header (PROXY command, TCP over IPv4) naming `source` as the client.
fn v2_header(source: Ipv4Addr, local: bool) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(if local { 0x20 } else { 0x21 });
    h.push(0x11);
    let mut block = source.octets().to_vec();
    block.extend_from_slice(&[127, 0, 0, 1]);
    block.extend_from_slice(&40_000u16.to_be_bytes());
    block.extend_from_slice(&8080u16.to_be_bytes());
    // A TLV HAProxy may add (PP2_TYPE_UNIQUE_ID): skipped.
    block.extend_from_slice(&[0x05, 0x00, 0x02, b'i', b'd']);
    h.extend_from_slice(&(block.len() as u16).to_be_bytes());
    h.extend_from_slice(&block);
    h
}

/// A connection from 127.0.0.1 that starts with `header`.
fn proxied(port: u16, header: &[u8]) -> HttpClient {
    let mut c = HttpClient::connect(port);
    c.send_raw(header);
    c
}

fn echo(c: &mut HttpClient, id: i64) -> HttpResponse {
    c.post(
        &modern_headers("tools/call", Some("echo")),
        &modern_body(
            id,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "via proxy"}}),
        ),
    )
}

#[test]
fn the_proxy_protocol_header_names_the_client_and_is_required() {
    let mut args = vec![
        "--cores",
        "1",
        "--proxy-protocol",
        "--trusted-proxy",
        "127.0.0.1",
    ];
    args.extend(LIMIT);
    let s = Server::http(&args);
    let p = port(&s);
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let mut c = proxied(p, &v2_header(a, false));
    let r = echo(&mut c, 1);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"]["content"][0]["text"], "via proxy");
    // Keep-alive: the header came once, the connection stays client A's.
    assert_eq!(echo(&mut c, 2).status, 200);
    assert_eq!(echo(&mut c, 3).status, 429, "client A is over its burst");
    // Client B through the same proxy, header and request in one write.
    let mut both = v2_header(Ipv4Addr::new(192, 0, 2, 2), false);
    let mut b = HttpClient::connect(p);
    both.extend(b.request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/list", None),
        &modern_body(4, "tools/list", Value::Null),
    ));
    b.send_raw(&both);
    assert_eq!(b.read_response().status, 200);
    // The text form (HAProxy's send-proxy), cut in two writes.
    let mut v1 = proxied(p, b"PROXY TCP4 192.0.2.3 127.0.0.1 40000 ");
    std::thread::sleep(Duration::from_millis(50));
    v1.send_raw(b"8080\r\n");
    assert_eq!(echo(&mut v1, 5).status, 200);
    // A LOCAL header (the proxy's own health check) leaves the proxy as the client.
    let mut check = proxied(p, &v2_header(Ipv4Addr::UNSPECIFIED, true));
    check.send("GET", "/ready", &[], b"");
    assert_eq!(check.read_response().status, 200);
    // No header: closed, nothing answered.
    let mut bare = HttpClient::connect(p);
    bare.send("GET", "/health", &[], b"");
    bare.expect_closed(Duration::from_secs(3));
    // A header from a peer that is not a trusted proxy: closed, nothing answered.
    let mut stranger = HttpClient::connect_from(Ipv4Addr::new(127, 0, 0, 2), p);
    stranger.send_raw(&v2_header(Ipv4Addr::new(192, 0, 2, 4), false));
    stranger.send("GET", "/health", &[], b"");
    stranger.expect_closed(Duration::from_secs(3));
    // The server serves on.
    let mut again = proxied(p, &v2_header(Ipv4Addr::new(192, 0, 2, 5), false));
    assert_eq!(echo(&mut again, 6).status, 200);
}

#[test]
fn proxy_settings_that_cannot_work_are_refused() {
    let out = std::process::Command::new(bin())
        .args(["serve", "--http", "127.0.0.1:0", "--proxy-protocol"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trusted-proxy"));
    let out = std::process::Command::new(bin())
        .args(["serve", "--trusted-proxy", "10.0.0.0/33"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CIDR"));
}

#[test]
fn trusted_proxies_from_a_config_file() {
    let dir = std::env::temp_dir().join(format!("ringmcp-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ringmcp.toml");
    std::fs::write(
        &file,
        "trusted_proxy = [\"127.0.0.1\"]\nrate_limit_rps = 0.001\nrate_limit_burst = 1\n",
    )
    .unwrap();
    let s = Server::http(&["--cores", "1", "--config", file.to_str().unwrap()]);
    let p = port(&s);
    assert_eq!(list_status(p, &from("203.0.113.1")), 200);
    assert_eq!(list_status(p, &from("203.0.113.2")), 200);
    assert_eq!(list_status(p, &from("203.0.113.1")), 429);
    drop(s);
    std::fs::remove_dir_all(&dir).ok();
}
