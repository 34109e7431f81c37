//! `ringmcp client`, the command line of the Rust client, against `ringmcp serve` over each
//! transport and in each era: what it prints is the server's answer, as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;

/// Run `ringmcp client <args>`; its exit status and standard output as JSON.
fn client(args: &[&str]) -> Value {
    let out = Command::new(bin())
        .arg("client")
        .args(args)
        .output()
        .expect("run ringmcp client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ringmcp client {args:?}: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The calls every transport and era must answer alike.
fn session(server: &[&str]) {
    let with = |args: &[&str]| -> Vec<String> {
        args.iter().chain(server).map(|s| s.to_string()).collect()
    };
    let run = |args: &[&str]| {
        let args = with(args);
        client(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let tools = run(&["tools", "list"]);
    assert!(
        tools
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "echo"),
        "{server:?}: {tools}"
    );
    let r = run(&["tools", "call", "echo", "--args", r#"{"text":"über"}"#]);
    assert_eq!(text_of(&r), "über", "{server:?}: {r}");
    let r = run(&["resources", "read", "demo://readme"]);
    assert_eq!(r["contents"][0]["uri"], "demo://readme", "{server:?}: {r}");
    let r = run(&["prompts", "get", "greet", "--args", r#"{"name":"Ada"}"#]);
    assert!(r["messages"].to_string().contains("Ada"), "{server:?}: {r}");
}

#[test]
fn over_http_in_each_era() {
    let s = Server::http(&[]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port.unwrap());
    for era in ["auto", MODERN, "2025-11-25", "2025-03-26"] {
        session(&[&url, "--era", era]);
    }
}

#[test]
fn over_tcp_in_each_era() {
    let s = Server::tcp(&[]);
    let url = format!("tcp://127.0.0.1:{}", s.port.unwrap());
    for era in ["auto", MODERN, "2025-11-25", "2024-11-05"] {
        session(&[&url, "--era", era]);
    }
}

#[test]
fn over_stdio() {
    let command = format!("{} serve --stdio", bin());
    session(&["--stdio", &command]);
}

#[test]
fn a_failing_call_exits_non_zero_and_says_why() {
    let s = Server::http(&[]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port.unwrap());
    let out = Command::new(bin())
        .args(["client", "tools", "call", "no-such-tool", &url])
        .output()
        .expect("run ringmcp client");
    assert!(!out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).is_empty(),
        "an error message on stderr"
    );
}
