//! Operations: `ringmcp check` reads the host's limits correctly.
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
