//! `ringmcp check`: it reads the host's limits correctly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

/// (soft, hard) of a /proc/self/limits line, as the checker prints them.
fn limits_line(name: &str) -> (String, String) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in /proc/self/limits"));
    let fields: Vec<&str> = line[name.len()..].split_whitespace().collect();
    (fields[0].to_owned(), fields[1].to_owned())
}

fn finding<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn check_reports_this_hosts_limits() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringmcp"))
        .args(["check", "--target", "100000", "--json"])
        .output()
        .expect("run check");
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let (soft, hard) = limits_line("Max open files");
    assert_eq!(
        finding(&report, "open files (soft)")["current"],
        soft.as_str()
    );
    assert_eq!(
        finding(&report, "open files (hard)")["current"],
        hard.as_str()
    );
    let (mem_soft, _) = limits_line("Max locked memory");
    assert_eq!(
        finding(&report, "locked memory (soft)")["current"],
        mem_soft.as_str()
    );
    if soft.parse::<u64>().is_ok_and(|n| n < 101_024) {
        assert_eq!(
            finding(&report, "open files (soft)")["verdict"],
            "warn",
            "100K connections need more fds than {soft}"
        );
    }
    let small: Value = serde_json::from_slice(
        &Command::new(env!("CARGO_BIN_EXE_ringmcp"))
            .args(["check", "--target", "10", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        finding(&small, "open files (soft)")["verdict"],
        "ok",
        "10 connections fit in {soft} fds"
    );
    assert!(["ok", "warn"].contains(
        &finding(&report, "io_uring setup")["verdict"]
            .as_str()
            .unwrap()
    ));
}

fn tools_page(extra: &[&str], env: &[(&str, &str)]) -> (bool, i32, String) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringmcp"));
    cmd.args(["serve", "--stdio"]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(
        concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            "\n"
        )
        .as_bytes(),
    );
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        stdout.contains("nextCursor"),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_file_precedence_and_errors() {
    let dir = std::env::temp_dir().join(format!("ringmcp-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "page-size = 2\nallow-origin = [\"https://a.example\"]\n",
    )
    .unwrap();
    let g = good.to_str().unwrap();
    assert!(
        tools_page(&["--config", g], &[]).0,
        "the file sets the page size"
    );
    assert!(
        !tools_page(&["--config", g], &[("RINGMCP_PAGE_SIZE", "100")]).0,
        "the environment beats the file"
    );
    assert!(
        tools_page(
            &["--config", g, "--page-size", "2"],
            &[("RINGMCP_PAGE_SIZE", "100")]
        )
        .0,
        "the command line beats both"
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "page-size = \"lots\"\n").unwrap();
    let (_, code, err) = tools_page(&["--config", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("page-size"), "the error names the key: {err}");
    std::fs::write(&bad, "no-such-setting = 1\n").unwrap();
    let (_, code, err) = tools_page(&["--config", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-setting"), "{err}");
    std::fs::write(&bad, "page-size = [\n").unwrap();
    assert_eq!(
        tools_page(&["--config", bad.to_str().unwrap()], &[]).1,
        2,
        "malformed TOML"
    );
}

#[test]
fn printed_default_config_round_trips() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringmcp"))
        .args(["config", "--print-default"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("# page-size = 100"), "{text}");
    // Uncomment every setting that has a concrete default and serve with it.
    let file: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.contains(" = ")
                && l.split(' ')
                    .next()
                    .is_some_and(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        })
        .filter(|l| !l.ends_with("\"\"") && !l.starts_with("http ") && !l.starts_with("stdio "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(file.lines().count() > 15, "{file}");
    let path = std::env::temp_dir().join(format!("ringmcp-default-{}.toml", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let (paged, code, err) = tools_page(&["--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}\n{file}");
    assert!(!paged, "defaults: one page");
}

#[test]
fn spans_exported_over_otlp_continue_the_callers_trace() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = collector.local_addr().unwrap().port();
    let received = std::thread::spawn(move || {
        // Bounded: an exporter that never connects (it once panicked on its own thread, with
        // no TLS crypto provider installed) fails the test instead of hanging it.
        collector.set_nonblocking(true).ok();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let (mut s, _) = loop {
            match collector.accept() {
                Ok(conn) => break conn,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the exporter never connected to the collector"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).ok();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .ok();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let body_start;
        loop {
            let n = s.read(&mut chunk).expect("read");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                body_start = p + 4;
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        while buf.len() < body_start + len {
            let n = s.read(&mut chunk).expect("read body");
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
        (head, buf[body_start..].to_vec())
    });
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringmcp"))
        .args(["serve", "--stdio", "--otlp-endpoint", &endpoint])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t"},"_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{call}\n").as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let (head, body) = received.join().unwrap();
    assert!(head.starts_with("post /v1/traces"), "{head}");
    let trace_id = [
        0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31,
        0x9c,
    ];
    assert!(
        body.windows(16).any(|w| w == trace_id),
        "the exported span carries the caller's trace id"
    );
    assert!(body.windows(8).any(|w| w == b"mcp.call"), "span name");
}
