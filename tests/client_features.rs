//! `ringmcp client` against `ringmcp serve` beyond single calls: `listen` hears resource updates
//! that another client causes (2026-07-28 listen stream and legacy subscription, over HTTP and
//! TCP), `tools call --progress` prints the progress, `--timeout` gives a call up, `--task` runs
//! a call as a task in each era, and the HTTP+SSE endpoint is reached by the `auto` fallback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Run `ringmcp client <args>`: exit success, stdout and stderr.
fn client(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .arg("client")
        .args(args)
        .output()
        .expect("run ringmcp client");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `listen --resource demo://counter --count 2` while another client bumps the counter.
fn hears_updates(target: &str, era: &str) {
    let listener = Command::new(bin())
        .args([
            "client",
            "listen",
            "--resource",
            "demo://counter",
            "--count",
            "2",
        ])
        .args(["--seconds", "10", "--era", era, target])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ringmcp client listen");
    // The listener needs a moment to subscribe; bump until it has heard two updates.
    std::thread::sleep(Duration::from_millis(700));
    for _ in 0..2 {
        let (ok, _, err) = client(&["tools", "call", "bump", target]);
        assert!(ok, "bump: {err}");
    }
    let out = listener.wait_with_output().expect("listen ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{era}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout.lines().map(json).collect();
    assert_eq!(lines.len(), 2, "{era}: {stdout}");
    for n in &lines {
        assert_eq!(n["method"], "notifications/resources/updated", "{era}: {n}");
        assert_eq!(n["params"]["uri"], "demo://counter", "{era}: {n}");
    }
}

#[test]
fn listen_over_http_and_tcp_in_each_era() {
    let http = Server::http(&[]);
    let url = format!("http://127.0.0.1:{}/mcp", http.port.unwrap());
    for era in [MODERN, "2025-11-25", "2025-03-26"] {
        hears_updates(&url, era);
    }
    let tcp = Server::tcp(&[]);
    let addr = format!("tcp://127.0.0.1:{}", tcp.port.unwrap());
    for era in [MODERN, "2024-11-05"] {
        hears_updates(&addr, era);
    }
}

#[test]
fn progress_timeout_and_tasks() {
    let s = Server::http(&[]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port.unwrap());
    for era in [MODERN, "2025-11-25"] {
        let (ok, out, err) = client(&[
            "tools",
            "call",
            "progress",
            "--args",
            r#"{"steps":3}"#,
            "--progress",
            "--era",
            era,
            &url,
        ]);
        assert!(ok, "{era}: {err}");
        json(&out);
        let progress: Vec<Value> = err
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(json)
            .collect();
        assert_eq!(progress.len(), 3, "{era}: {err}");
        assert_eq!(progress[2]["progress"], 3.0, "{era}: {err}");

        let started = std::time::Instant::now();
        let (ok, _, err) = client(&[
            "tools",
            "call",
            "sleep",
            "--args",
            r#"{"ms":5000}"#,
            "--timeout",
            "0.3",
            "--era",
            era,
            &url,
        ]);
        assert!(!ok && err.contains("cancelled"), "{era}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{era}: the timeout did not cut the call"
        );

        let (ok, out, err) = client(&[
            "tools",
            "call",
            "sleep",
            "--args",
            r#"{"ms":300}"#,
            "--task",
            "--era",
            era,
            &url,
        ]);
        assert!(ok, "{era}: {err}");
        let done = json(&out);
        assert!(out.contains("slept 300 ms"), "{era}: {done}");
    }
}

#[test]
fn auto_reaches_the_http_sse_endpoint() {
    let s = Server::http(&[]);
    let url = format!("http://127.0.0.1:{}/sse", s.port.unwrap());
    let (ok, out, err) = client(&["tools", "call", "echo", "--args", r#"{"text":"old"}"#, &url]);
    assert!(ok, "{err}");
    assert_eq!(text_of(&json(&out)), "old");
}
