//! The client session driven with canned server bytes: handshakes of both eras, the auto
//! fallback, the unsupported-version retry, the multi-round-trip loop and the request headers.

use super::*;
use crate::jsonrpc::{parse, Message, Parsed};
use serde_json::json;

fn config(era: Era) -> ClientConfig {
    ClientConfig {
        client_info: Implementation {
            name: "test-client".into(),
            version: "1.0.0".into(),
            title: None,
        },
        era,
        capabilities: DefaultHandler.capabilities(),
    }
}

/// The answer in a canned server response, with the id it answers.
fn answer(bytes: &str) -> (Option<RequestId>, Answer) {
    match parse(bytes.as_bytes()) {
        Parsed::Single(Ok(Message::Response(r))) => (r.id.clone(), Answer::from_response(r)),
        other => panic!("not a response: {other:?}"),
    }
}

fn body(out: &Outgoing) -> Value {
    serde_json::from_slice(&out.body).unwrap_or_default()
}

fn header<'a>(out: &'a Outgoing, name: &str) -> Option<&'a str> {
    out.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn legacy_handshake_sends_initialize_then_initialized() {
    let mut s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2025_11_25)));
    let init = s.handshake();
    let b = body(&init);
    assert_eq!(b["method"], "initialize");
    assert_eq!(b["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(b["params"]["clientInfo"]["name"], "test-client");
    assert!(b["params"]["capabilities"]["elicitation"].is_object());
    assert!(init.headers.is_empty());
    let (_, a) = answer(
        r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}}"#,
    );
    let Ok(HandshakeStep::Ready {
        initialized: Some(n),
    }) = s.on_handshake(a)
    else {
        panic!("not ready");
    };
    assert_eq!(body(&n)["method"], "notifications/initialized");
    assert_eq!(header(&n, "mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(s.version(), Some(ProtocolVersion::V2025_06_18));
    assert_eq!(s.server().capabilities, json!({"tools":{}}));
    // Legacy requests carry no _meta of ours and no Mcp-Method.
    let call = s
        .call("tools/list", json!({}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body(&call)["params"], json!({}));
    assert_eq!(header(&call, "mcp-method"), None);
    assert_eq!(body(&call)["id"], 2);
}

#[test]
fn legacy_handshake_refuses_a_modern_answer() {
    let mut s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2025_11_25)));
    s.handshake();
    let (_, a) = answer(
        r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2026-07-28","capabilities":{}}}"#,
    );
    assert_eq!(
        s.on_handshake(a),
        Err(ClientError::UnsupportedVersion("2026-07-28".into()))
    );
}

#[test]
fn auto_falls_back_on_an_empty_discover_result_or_a_refusal() {
    for a in [
        answer(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).1,
        Answer::Refused(Some(400)),
        answer(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#).1,
    ] {
        let mut s = ClientSession::new(config(Era::Auto));
        let d = s.handshake();
        let b = body(&d);
        assert_eq!(b["method"], "server/discover");
        assert_eq!(
            b["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        let Ok(HandshakeStep::Send(init)) = s.on_handshake(a) else {
            panic!("no fallback");
        };
        assert_eq!(body(&init)["method"], "initialize");
        assert_eq!(body(&init)["id"], 2);
    }
}

#[test]
fn auto_goes_modern_and_retries_an_unsupported_version_once() {
    let mut s = ClientSession::new(config(Era::Auto));
    s.handshake();
    let (_, a) = answer(
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2026-07-28"}}}"#,
    );
    let Ok(HandshakeStep::Send(again)) = s.on_handshake(a) else {
        panic!("no retry");
    };
    assert_eq!(body(&again)["method"], "server/discover");
    assert_eq!(header(&again, "mcp-method"), Some("server/discover"));
    let (_, a) = answer(
        r#"{"jsonrpc":"2.0","id":2,"result":{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"m","version":"1"}}}}"#,
    );
    assert_eq!(
        s.on_handshake(a),
        Ok(HandshakeStep::Ready { initialized: None })
    );
    assert_eq!(s.version(), Some(ProtocolVersion::V2026_07_28));
    assert_eq!(
        s.server().server_info,
        Some(json!({"name":"m","version":"1"}))
    );
}

#[test]
fn modern_calls_carry_meta_headers_and_retry_the_version_once() {
    let mut s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2026_07_28)));
    s.handshake();
    assert!(s.on_handshake(Answer::Refused(Some(404))).is_ok());
    let out = s
        .call("resources/read", json!({"uri":"file:///a b.txt"}))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = body(&out);
    let meta = &b["params"]["_meta"];
    assert_eq!(
        meta["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    assert!(meta["io.modelcontextprotocol/clientCapabilities"]["roots"].is_object());
    assert_eq!(
        meta["io.modelcontextprotocol/clientInfo"]["name"],
        "test-client"
    );
    assert_eq!(header(&out, "mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(header(&out, "mcp-method"), Some("resources/read"));
    assert_eq!(header(&out, "mcp-name"), Some("file:///a b.txt"));
    let id = out.id.clone().unwrap_or_else(|| RequestId::number(0));
    let err = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"x","data":{"supported":["2026-07-28"]}}}"#;
    let step = s.on_answer(&id, answer(err).1, &mut DefaultHandler);
    let Ok(CallStep::Send(retry)) = step else {
        panic!("no retry: {step:?}");
    };
    assert_ne!(retry.id, out.id);
    let retry_id = retry.id.clone().unwrap_or_else(|| RequestId::number(0));
    let again = s.on_answer(&retry_id, answer(err).1, &mut DefaultHandler);
    assert!(matches!(again, Err(ClientError::Server(_))));
    assert_eq!(s.pending_calls(), 0);
}

#[test]
fn input_required_rounds_echo_state_under_new_ids() {
    let mut s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2026_07_28)));
    s.handshake();
    assert!(s.on_handshake(Answer::Refused(None)).is_ok());
    let first = s
        .call("tools/call", json!({"name":"echo","arguments":{"x":1}}))
        .unwrap_or_else(|e| panic!("{e}"));
    let other = s
        .call("tools/call", json!({"name":"unrelated","arguments":{}}))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = r#"{\"step\":1,\"nonce\":\"a\\u00e9\"}"#;
    let input = format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"resultType":"input_required","inputRequests":{{"confirm":{{"method":"elicitation/create","params":{{"message":"ok?","requestedSchema":{{"type":"object","properties":{{"confirmed":{{"type":"boolean","default":true}}}}}}}}}}}},"requestState":"{state}"}}}}"#
    );
    let id = first.id.clone().unwrap_or_else(|| RequestId::number(0));
    let Ok(CallStep::Send(retry)) = s.on_answer(&id, answer(&input).1, &mut DefaultHandler) else {
        panic!("no retry");
    };
    let b = body(&retry);
    assert_eq!(b["params"]["name"], "echo");
    assert_eq!(b["params"]["arguments"], json!({"x":1}));
    assert_eq!(
        b["params"]["inputResponses"],
        json!({"confirm":{"action":"accept","content":{"confirmed":true}}})
    );
    let sent_state: Value = serde_json::from_str(&format!("\"{state}\"")).unwrap_or_default();
    assert_eq!(b["params"]["requestState"], sent_state);
    assert_ne!(retry.id, first.id);
    assert_ne!(retry.id, other.id);
    // The other call's answer has no input: it stays clean and completes.
    let other_id = other.id.clone().unwrap_or_else(|| RequestId::number(0));
    let done = s.on_answer(
        &other_id,
        answer(r#"{"jsonrpc":"2.0","id":2,"result":{"content":[]}}"#).1,
        &mut DefaultHandler,
    );
    assert_eq!(done, Ok(CallStep::Done(json!({"content":[]}))));
    // Without requestState none is sent back.
    let no_state = r#"{"jsonrpc":"2.0","id":3,"result":{"resultType":"input_required","inputRequests":{"r":{"method":"roots/list"}}}}"#;
    let retry_id = retry.id.clone().unwrap_or_else(|| RequestId::number(0));
    let Ok(CallStep::Send(third)) = s.on_answer(&retry_id, answer(no_state).1, &mut DefaultHandler)
    else {
        panic!("no third round");
    };
    assert!(body(&third)["params"].get("requestState").is_none());
    assert_eq!(
        body(&third)["params"]["inputResponses"],
        json!({"r":{"roots":[]}})
    );
}

#[test]
fn tool_calls_mirror_header_params_and_invalid_tools_are_dropped() {
    let mut s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2026_07_28)));
    s.handshake();
    assert!(s.on_handshake(Answer::Refused(None)).is_ok());
    let (kept, dropped) = s.accept_tools(vec![
        json!({"name":"t","inputSchema":{"type":"object","properties":{
            "region":{"type":"string","x-mcp-header":"Region"},
            "n":{"type":"integer","x-mcp-header":"N"},
            "flag":{"type":"boolean","x-mcp-header":"Flag"},
            "opt":{"type":"string","x-mcp-header":"Opt"},
            "q":{"type":"string"}}}}),
        json!({"name":"bad","inputSchema":{"type":"object","properties":{
            "x":{"type":"number","x-mcp-header":"X"}}}}),
    ]);
    assert_eq!(kept.len(), 1);
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].0, "bad");
    let out = s
        .call(
            "tools/call",
            json!({"name":"t","arguments":{"region":" padded","n":42,"flag":false,"opt":null,"q":"SELECT"}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header(&out, "mcp-name"), Some("t"));
    assert_eq!(
        header(&out, "mcp-param-region"),
        Some("=?base64?IHBhZGRlZA==?=")
    );
    assert_eq!(header(&out, "mcp-param-n"), Some("42"));
    assert_eq!(header(&out, "mcp-param-flag"), Some("false"));
    assert_eq!(header(&out, "mcp-param-opt"), None);
    assert_eq!(
        out.headers
            .iter()
            .filter(|(n, _)| n.starts_with("Mcp-Param-"))
            .count(),
        3
    );
}

#[test]
fn server_requests_are_answered_by_the_handler() {
    let s = ClientSession::new(config(Era::Fixed(ProtocolVersion::V2025_11_25)));
    let req = r#"{"jsonrpc":"2.0","id":"s1","method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object","properties":{"score":{"type":"number","default":95.5}}}}}"#;
    let Parsed::Single(Ok(Message::Request(r))) = parse(req.as_bytes()) else {
        panic!("not a request");
    };
    let out = s.answer_request(&r, &mut DefaultHandler);
    assert_eq!(
        body(&out),
        json!({"jsonrpc":"2.0","id":"s1","result":{"action":"accept","content":{"score":95.5}}})
    );
}
