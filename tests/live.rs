//! Tools and prompts that change while the server runs (a live set, `ringmcp::serve_live`), over
//! every transport: the conformance fixtures' hooks `test_trigger_tool_change` and
//! `test_trigger_prompt_change` add or take away `test_dynamic_tool` / `test_dynamic_prompt`.
//! Legacy sessions hear `notifications/*/list_changed` on every shard, 2026-07-28 listen
//! streams hear what they asked for and nothing else, the lists and calls follow the change,
//! a request made after an update returned sees the new set on every shard, a cursor of a list
//! that changed is refused, and a busy shard catches up once it is free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::time::Duration;

const FIXTURES: &[&str] = &["--fixtures", "conformance"];

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn has_tool(c: &mut Client, id: i64, name: &str) -> bool {
    names(&c.result(msg::request(id, "tools/list")), "tools").contains(&name.to_owned())
}

fn trigger(c: &mut Client, id: i64, hook: &str) {
    let r = c.result(msg::call(id, hook).args(json!({})));
    assert_eq!(text_of(&r), "Mutation triggered", "{r}");
}

/// A 2026-07-28 listen stream on `c` for `filter`, acknowledged.
fn listen(c: &mut Client, id: &str, filter: Value) {
    c.send(
        msg::request(id, "subscriptions/listen")
            .param("notifications", filter)
            .stateless(),
    );
    let ack = c.notification("notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        id
    );
}

/// One client: it declares `listChanged`, changes the set itself, hears of it, and the list and
/// the calls follow, both ways.
fn one_client_changes_the_set(via: Via) {
    let (_s, mut c) = open(via, FIXTURES);
    let init = c.initialize("2025-11-25");
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true, "{init}");
    assert_eq!(
        init["capabilities"]["prompts"]["listChanged"], true,
        "{init}"
    );
    assert!(!has_tool(&mut c, 1, "test_dynamic_tool"));
    let before = c.result(msg::request(2, "tools/list"));

    let resources = c.result(msg::request(20, "resources/list"));

    trigger(&mut c, 3, "test_trigger_tool_change");
    c.notification("notifications/tools/list_changed");
    assert!(has_tool(&mut c, 4, "test_dynamic_tool"));
    // The rest of the set is rebuilt as it was: resources, skills' files included.
    assert_eq!(c.result(msg::request(21, "resources/list")), resources);
    let skills = c.result(msg::request(22, "skills/list"));
    assert!(!skills["skills"].as_array().unwrap().is_empty(), "{skills}");
    let r = c.result(msg::call(5, "test_dynamic_tool").args(json!({})));
    assert_eq!(text_of(&r), "still here");

    trigger(&mut c, 6, "test_trigger_tool_change");
    c.notification("notifications/tools/list_changed");
    assert_eq!(c.result(msg::request(7, "tools/list")), before);
    c.error(msg::call(8, "test_dynamic_tool").args(json!({})), -32602);

    trigger(&mut c, 9, "test_trigger_prompt_change");
    c.notification("notifications/prompts/list_changed");
    let prompts = c.result(msg::request(10, "prompts/list"));
    assert!(names(&prompts, "prompts").contains(&"test_dynamic_prompt".to_owned()));
    let p = c.result(msg::prompt(11, "test_dynamic_prompt"));
    assert_eq!(p["messages"][0]["content"]["text"], "still here");
    // Only the prompt list changed.
    c.assert_silent(Duration::from_millis(200));
}

for_each_transport!(one_client_changes_the_set);

/// 2026-07-28: a listen stream that asked for tool list changes hears one, tagged with its
/// subscription id, and a stateless `tools/list` follows the change. On stdio the listening
/// client makes the change itself (a stdio server has one client).
fn a_listen_stream_hears_of_a_change(via: Via) {
    let (s, mut listener) = open(via, FIXTURES);
    listen(&mut listener, "watch", json!({"toolsListChanged": true}));
    let mut other = match via {
        Via::Stdio => None,
        _ => Some(s.client(via)),
    };
    let changer = other.as_mut().unwrap_or(&mut listener);
    let r = changer.result(
        msg::call(1, "test_trigger_tool_change")
            .args(json!({}))
            .stateless(),
    );
    assert_eq!(text_of(&r), "Mutation triggered", "{r}");
    let tools = changer.result(msg::request(2, "tools/list").stateless());
    assert!(names(&tools, "tools").contains(&"test_dynamic_tool".to_owned()));
    let n = listener.notification("notifications/tools/list_changed");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "watch"
    );
}

for_each_transport!(a_listen_stream_hears_of_a_change);

/// Many clients over two shards: every legacy session hears each change once, whichever shard
/// it is on; a listen stream hears the lists it asked about, with its subscription id, and
/// nothing else.
fn every_shard_hears_of_a_change(via: Via) {
    let s = Server::on(via, &["--fixtures", "conformance", "--cores", "2"]);
    let mut sessions: Vec<Client> = (0..6).map(|_| s.client(via)).collect();
    for c in sessions.iter_mut() {
        c.initialize("2025-11-25");
    }
    let mut tools_listener = s.client(via);
    listen(
        &mut tools_listener,
        "tools-1",
        json!({"toolsListChanged": true}),
    );
    let mut prompts_listener = s.client(via);
    listen(
        &mut prompts_listener,
        "prompts-1",
        json!({"promptsListChanged": true}),
    );

    trigger(&mut sessions[0], 1, "test_trigger_tool_change");
    for c in sessions.iter_mut() {
        // A request made after the update returned sees the new set, whatever its shard.
        assert!(has_tool(c, 2, "test_dynamic_tool"));
        c.notification("notifications/tools/list_changed");
    }
    let n = tools_listener.notification("notifications/tools/list_changed");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "tools-1"
    );
    prompts_listener.assert_silent(Duration::from_millis(300));

    trigger(&mut sessions[1], 3, "test_trigger_prompt_change");
    let n = prompts_listener.notification("notifications/prompts/list_changed");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "prompts-1"
    );
    tools_listener.assert_silent(Duration::from_millis(300));
    for c in sessions.iter_mut() {
        c.notification("notifications/prompts/list_changed");
        // Once each: nothing more came for the first change either.
        c.assert_silent(Duration::from_millis(100));
    }
    // Put the set back as it was.
    trigger(&mut sessions[2], 4, "test_trigger_tool_change");
    trigger(&mut sessions[2], 5, "test_trigger_prompt_change");
}

// A stdio server has one client: the other transports.
for_each_transport!(every_shard_hears_of_a_change: tcp => Tcp, http => Http);

/// A page of a list that changed since its cursor was issued is refused with -32602 saying so,
/// rather than cut from the new list; listing again from the start works.
fn a_cursor_of_a_changed_list_is_refused(via: Via) {
    let (_s, mut c) = open(via, &["--fixtures", "conformance", "--page-size", "2"]);
    c.initialize("2025-11-25");
    let first = c.result(msg::request(1, "tools/list"));
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    // The same cursor works while the list is the same.
    c.result(msg::request(2, "tools/list").param("cursor", cursor.as_str()));
    trigger(&mut c, 3, "test_trigger_tool_change");
    c.notification("notifications/tools/list_changed");
    let e = c.error(
        msg::request(4, "tools/list").param("cursor", cursor.as_str()),
        -32602,
    );
    assert!(
        e["message"].as_str().unwrap().contains("list changed"),
        "{e}"
    );
    assert_eq!(
        c.result(msg::request(5, "tools/list"))["tools"][0],
        first["tools"][0]
    );
    // Other lists did not change: their cursors still work.
    let prompts = c.result(msg::request(6, "prompts/list"));
    if let Some(next) = prompts["nextCursor"].as_str() {
        c.result(msg::request(7, "prompts/list").param("cursor", next));
    }
}

for_each_transport!(a_cursor_of_a_changed_list_is_refused);

/// A shard whose thread is blocked while the set changes serves the old set until it is free,
/// then switches and tells its sessions; the others switch at once.
#[test]
fn a_busy_shard_switches_once_it_is_free() {
    let s = Server::tcp(&["--fixtures", "conformance", "--cores", "2"]);
    let mut sessions: Vec<Client> = (0..6).map(|_| s.connect()).collect();
    for c in sessions.iter_mut() {
        c.initialize("2025-11-25");
    }
    // sessions[0]'s shard is held for 800 ms.
    sessions[0].request(
        1,
        "tools/call",
        json!({"name": "test_hold_shard", "arguments": {"ms": 800}}),
    );
    std::thread::sleep(Duration::from_millis(100));
    let mut changer = s.connect();
    changer.initialize("2025-11-25");
    trigger(&mut changer, 2, "test_trigger_tool_change");
    let held = sessions[0].response(1);
    assert_eq!(text_of(&held["result"]), "held 800 ms", "{held}");
    for c in sessions.iter_mut() {
        c.notification("notifications/tools/list_changed");
        assert!(has_tool(c, 3, "test_dynamic_tool"));
    }
    trigger(&mut changer, 4, "test_trigger_tool_change");
}
