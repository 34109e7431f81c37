//! The Redis task store's reading of replies, times to live and cursors, without a Redis.

use super::*;
use crate::store::TaskInfo;
use ringmcp_proto::types::TaskStatus;

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn state(status: TaskStatus) -> TaskState {
    let mut s = TaskState::new(TaskInfo {
        id: "n1.00ab".into(),
        owner: Some("o".into()),
        status: TaskStatus::Working,
        status_message: None,
        created_at: "t0".into(),
        updated_at: "t0".into(),
        created_ms: 1_000,
        ttl_ms: 10_000,
        poll_ms: 100,
    });
    if status.is_terminal() {
        s.apply(TaskChange::Cancel, "t1");
    }
    s
}

#[test]
fn a_stored_hash_reads_back_as_a_task() {
    let json = serde_json::to_string(&state(TaskStatus::Working)).unwrap_or_default();
    let reply = Reply::Array(vec![bulk("7"), bulk(&json), bulk("n1"), bulk("tok")]);
    let s = stored("n1.00ab", &reply)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("not a task"));
    assert_eq!(
        (s.version, s.node.as_str(), s.token.as_str()),
        (7, "n1", "tok")
    );
    assert_eq!(s.state.info.id, "n1.00ab");
    let gone = Reply::Array(vec![Reply::Nil, Reply::Nil, Reply::Nil, Reply::Nil]);
    assert!(matches!(stored("x", &gone), Ok(None)));
    let garbage = Reply::Array(vec![bulk("1"), bulk("{"), Reply::Nil, Reply::Nil]);
    assert!(matches!(stored("x", &garbage), Ok(None)));
    assert!(stored("x", &Reply::Error("ERR".into())).is_err());
}

#[test]
fn working_tasks_are_held_and_terminal_ones_live_out_their_ttl() {
    assert_eq!(hold_ms(&state(TaskStatus::Working), 5_000), 60_000);
    assert_eq!(hold_ms(&state(TaskStatus::Cancelled), 5_000), 6_000);
    assert_eq!(
        hold_ms(&state(TaskStatus::Cancelled), 50_000),
        1_000,
        "past its ttl: gone soon, never a zero PX"
    );
}

#[test]
fn cas_replies_and_pages_read_back() {
    assert_eq!(cas_result(&[Reply::Int(1)]).ok(), Some(Cas::Written));
    assert_eq!(cas_result(&[Reply::Int(0)]).ok(), Some(Cas::Conflict));
    assert_eq!(cas_result(&[Reply::Int(-1)]).ok(), Some(Cas::Gone));
    assert!(cas_result(&[Reply::Error("NOSCRIPT".into())]).is_err());
    let page = [Reply::Array(vec![
        bulk("a"),
        bulk("5"),
        bulk("b"),
        bulk("6"),
    ])];
    assert_eq!(
        page_members(&page).ok(),
        Some(vec![("a".into(), "5".into()), ("b".into(), "6".into())])
    );
}

#[test]
fn cursors_name_the_last_task_and_its_score() {
    assert_eq!(
        parse_cursor(Some("17:n1.00ab")),
        ("n1.00ab".into(), "17".into())
    );
    assert_eq!(parse_cursor(None), (String::new(), "-inf".into()));
    assert_eq!(parse_cursor(Some("junk")), (String::new(), "-inf".into()));
    assert_eq!(parse_cursor(Some("x:y")), (String::new(), "-inf".into()));
}

#[test]
fn a_dead_node_fails_its_task_with_its_name() {
    let mut s = state(TaskStatus::Working);
    s.apply(node_stopped("n3"), "t2");
    assert_eq!(s.info.status, TaskStatus::Failed);
    assert_eq!(
        s.info.status_message.as_deref(),
        Some("Internal error: node n3 stopped")
    );
}
