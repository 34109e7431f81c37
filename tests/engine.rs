//! The protocol engine in memory (`ringmcp_testkit::engine`): no socket, no process, no sleep.
//! Each test runs on the test kit's shared executor and reads like the exchange it checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ringmcp_testkit::engine::{echo_registry, Engine};
use ringmcp_testkit::{executor, expect, msg};
use serde_json::json;

#[test]
fn a_stateless_call_is_answered_with_its_result_type() {
    executor::run(|| async {
        let engine = Engine::new(echo_registry());
        let client = engine.client();
        let answer = client
            .request(msg::call(7, "echo").args(json!({"text": "hi"})).stateless())
            .await;
        let result = expect::result(&answer, 7);
        assert_eq!(expect::text(&result), "hi");
        assert_eq!(result["resultType"], "complete", "{answer}");
    });
}

#[test]
fn a_session_must_initialize_before_anything_but_ping() {
    executor::run(|| async {
        let engine = Engine::new(echo_registry());
        let client = engine.client();
        let answer = client.request(msg::request(1, "tools/list")).await;
        expect::error(&answer, 1, -32600);
        expect::result(&client.request(msg::request(2, "ping")).await, 2);
        let init = client.initialize("2025-11-25").await;
        assert_eq!(init["protocolVersion"], "2025-11-25");
        let tools = expect::result(&client.request(msg::request(3, "tools/list")).await, 3);
        assert_eq!(tools["tools"].as_array().map(Vec::len), Some(2), "{tools}");
        // A second initialize is refused.
        let again = client.request(msg::initialize(4, "2025-11-25")).await;
        expect::error(&again, 4, -32600);
    });
}

#[test]
fn bad_requests_get_their_codes_and_cost_nothing_else() {
    executor::run(|| async {
        let engine = Engine::new(echo_registry());
        let client = engine.client();
        client.initialize("2025-06-18").await;
        let cases = [
            (msg::request(1, "no/such/method"), -32601),
            (msg::call(2, "no-such-tool").args(json!({})), -32602),
            (msg::call(3, "echo").args(json!({"text": 5})), -32602),
            (msg::request(4, "tools/call").params(json!([1, 2])), -32602),
            (
                msg::request(5, "tools/list").param("cursor", "forged"),
                -32602,
            ),
        ];
        for (request, code) in cases {
            let id = request.clone().value()["id"].clone();
            expect::error(&client.request(request).await, id, code);
        }
        client.send_line(b"{not json");
        expect::error(&client.next().await, serde_json::Value::Null, -32700);
        // The session still works.
        let ok = client
            .request(msg::call(6, "echo").args(json!({"text": "still"})))
            .await;
        assert_eq!(expect::text(&expect::result(&ok, 6)), "still");
        assert!(client.drain().is_empty(), "nothing else was written");
    });
}

#[test]
fn a_cancelled_call_sends_nothing_and_leaves_nothing_in_flight() {
    executor::run(|| async {
        let engine = Engine::new(echo_registry());
        let client = engine.client();
        client.initialize("2025-11-25").await;
        client.send(msg::call(9, "sleep").args(json!({"ms": 60_000})));
        assert_eq!(client.inflight(), 1);
        client.send(msg::cancel(9));
        assert_eq!(
            client.inflight(),
            0,
            "the cancel takes the call out at once"
        );
        // The next answer on the session is the ping's: the cancelled call said nothing.
        let pong = client.request(msg::request(10, "ping")).await;
        expect::result(&pong, 10);
        assert!(client.drain().is_empty());
    });
}

#[test]
fn closing_a_client_cancels_its_calls_and_not_the_others() {
    executor::run(|| async {
        let engine = Engine::new(echo_registry());
        let (leaving, staying) = (engine.client(), engine.client());
        leaving.initialize("2025-11-25").await;
        staying.initialize("2025-11-25").await;
        leaving.send(msg::call(1, "sleep").args(json!({"ms": 60_000})));
        staying.send(msg::call(1, "sleep").args(json!({"ms": 1})));
        leaving.close();
        assert_eq!(leaving.inflight(), 0);
        let answer = staying.next().await;
        assert_eq!(expect::text(&expect::result(&answer, 1)), "slept");
        assert_eq!(engine.inflight(), 0, "the closed client's call is gone too");
    });
}

#[test]
fn a_cursor_opens_on_another_engine_with_the_same_keys() {
    executor::run(|| async {
        let limits = ringmcp::internals::Limits {
            page_size: 1,
            ..Default::default()
        };
        let (a, b) = (
            Engine::with_limits(echo_registry(), limits.clone()),
            Engine::with_limits(echo_registry(), limits),
        );
        let first = expect::result(
            &a.client()
                .request(msg::request(1, "tools/list").stateless())
                .await,
            1,
        );
        let cursor = first["nextCursor"].as_str().unwrap().to_owned();
        let second = expect::result(
            &b.client()
                .request(
                    msg::request(2, "tools/list")
                        .param("cursor", cursor)
                        .stateless(),
                )
                .await,
            2,
        );
        assert_ne!(first["tools"][0]["name"], second["tools"][0]["name"]);
    });
}

#[test]
fn the_rate_limit_counts_a_connection_once_and_leaves_http_to_its_layer() {
    executor::run(|| async {
        let limits = ringmcp::internals::Limits {
            rate_limit_rps: 0.001,
            rate_limit_burst: 2,
            ..Default::default()
        };
        let engine = Engine::with_limits(echo_registry(), limits);
        let line = engine.client();
        for id in 1..=2 {
            expect::result(&line.request(msg::request(id, "ping")).await, id);
        }
        let refused = expect::error(&line.request(msg::request(3, "ping")).await, 3, -32000);
        assert!(
            refused["data"]["retryAfterMs"].as_u64() > Some(0),
            "{refused}"
        );
        // Another connection is another client, with a bucket of its own.
        expect::result(&engine.client().request(msg::request(1, "ping")).await, 1);
        // An HTTP session's client is limited by address before the engine; the engine adds no
        // second limit.
        let http = engine.http_client();
        for id in 1..=5 {
            expect::result(&http.request(msg::request(id, "ping")).await, id);
        }
    });
}

/// A tool that asks once and finishes when its state comes back: `{"once": true}` makes the state
/// single-use.
fn asking_registry() -> ringmcp::Registry {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Ask {
        once: bool,
    }
    ringmcp::ServerBuilder::new("state-test", "1.0.0")
        .tool(
            "ask",
            "Asks, then answers with its state",
            |ctx: ringmcp::RequestContext, a: Ask| async move {
                if let Some(state) = ctx.request_state() {
                    return Ok(ringmcp::proto::types::CallToolResult::text(format!(
                        "done: {state}"
                    )));
                }
                let ask = ctx
                    .input_required()
                    .elicit("ok", "Go?", json!({"type": "object"}))
                    .state("asked");
                Err(if a.once { ask.single_use() } else { ask }.build())
            },
        )
        .build()
        .unwrap()
}

fn ask(id: i64, once: bool) -> ringmcp_testkit::msg::Msg {
    msg::call(id, "ask")
        .args(json!({ "once": once }))
        .meta(
            "io.modelcontextprotocol/clientCapabilities",
            json!({"elicitation": {}}),
        )
        .stateless()
}

/// The sealed `requestState` of a first attempt.
async fn first_state(client: &ringmcp_testkit::engine::Client, once: bool) -> String {
    let first = expect::result(&client.request(ask(1, once)).await, 1);
    assert_eq!(first["resultType"], "input_required", "{first}");
    first["requestState"].as_str().unwrap().to_owned()
}

fn retry(id: i64, once: bool, state: &str) -> ringmcp_testkit::msg::Msg {
    ask(id, once)
        .param(
            "inputResponses",
            json!({"ok": {"action": "accept", "content": {}}}),
        )
        .param("requestState", state)
}

#[test]
fn request_state_is_bound_to_its_principal() {
    executor::run(|| async {
        let engine = Engine::new(asking_registry());
        let (alice, bob) = (
            engine.request_client(Some("alice")),
            engine.request_client(Some("bob")),
        );
        let state = first_state(&alice, false).await;
        let refused = expect::error(&bob.request(retry(2, false, &state)).await, 2, -32602);
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .ends_with("requestState integrity check failed"),
            "{refused}"
        );
        let anonymous = engine.request_client(None);
        expect::error(&anonymous.request(retry(3, false, &state)).await, 3, -32602);
        let done = expect::result(&alice.request(retry(4, false, &state)).await, 4);
        assert_eq!(expect::text(&done), "done: asked");
        // Not single-use: the same state opens again.
        expect::result(&alice.request(retry(5, false, &state)).await, 5);
    });
}

#[test]
fn an_expired_request_state_is_refused_as_expired() {
    executor::run(|| async {
        let limits = ringmcp::internals::Limits {
            request_state_ttl: std::time::Duration::ZERO,
            ..Default::default()
        };
        let engine = Engine::with_limits(asking_registry(), limits);
        let client = engine.request_client(None);
        let state = first_state(&client, false).await;
        let refused = expect::error(&client.request(retry(2, false, &state)).await, 2, -32602);
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("expired"), "{refused}");
        assert!(!message.contains("integrity"), "{refused}");
    });
}

#[test]
fn a_single_use_request_state_is_accepted_once() {
    executor::run(|| async {
        let engine = Engine::new(asking_registry());
        let client = engine.request_client(Some("alice"));
        let state = first_state(&client, true).await;
        let done = expect::result(&client.request(retry(2, true, &state)).await, 2);
        assert_eq!(expect::text(&done), "done: asked");
        let again = expect::error(&client.request(retry(3, true, &state)).await, 3, -32602);
        assert!(
            again["message"]
                .as_str()
                .unwrap()
                .ends_with("requestState already used"),
            "{again}"
        );
        // Another client of the same engine (shard) is refused the same way.
        let other = engine.request_client(Some("alice"));
        expect::error(&other.request(retry(4, true, &state)).await, 4, -32602);
        // A fresh single-use state is a fresh nonce.
        let next = first_state(&client, true).await;
        assert_ne!(next, state);
        expect::result(&client.request(retry(5, true, &next)).await, 5);
    });
}
