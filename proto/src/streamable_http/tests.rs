//! Unit tests of `streamable_http`.

use super::*;
use crate::jsonrpc;

fn request(body: &str) -> Request {
    match jsonrpc::parse(body.as_bytes()) {
        Parsed::Single(Ok(Message::Request(r))) => r,
        other => panic!("not a request: {other:?}"),
    }
}

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn call(args: &str) -> Request {
    request(&format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{args},{META}}}}}"#
    ))
}

fn no_params(_: &str) -> &'static [(String, String)] {
    &[]
}

#[test]
fn decodes_plain_and_base64_values() {
    assert_eq!(decode_header("plain").as_deref(), Some("plain"));
    assert!(matches!(decode_header("plain"), Some(Cow::Borrowed(_))));
    assert_eq!(
        decode_header("=?base64?aMOpbGxv?=").as_deref(),
        Some("héllo")
    );
    // Strict padding, and UTF-8 inside.
    assert_eq!(decode_header("=?base64?aGk?="), None);
    assert_eq!(decode_header("=?base64?/w==?="), None);
    // Only the whole `=?base64?...?=` form is decoded.
    assert_eq!(
        decode_header("=?base64?aGk=").as_deref(),
        Some("=?base64?aGk=")
    );
}

#[test]
fn routes_posts_by_version_header() {
    let legacy = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    let modern = jsonrpc::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
    );
    let h: &[(&str, &str)] = &[("mcp-protocol-version", "2026-07-28")];
    assert_eq!(route_post(h, &legacy), Ok(PostRoute::Stateless));
    let h: &[(&str, &str)] = &[("mcp-protocol-version", "2025-06-18")];
    assert_eq!(route_post(h, &modern), Ok(PostRoute::Session));
    let h: &[(&str, &str)] = &[("mcp-protocol-version", "1999-01-01")];
    let e = route_post(h, &legacy).unwrap_err();
    assert_eq!(e, HeaderError::UnsupportedVersion("1999-01-01".into()));
    assert_eq!(
        ErrorObject::from(e).code,
        code::UNSUPPORTED_PROTOCOL_VERSION
    );
    let none: &[(&str, &str)] = &[];
    assert_eq!(route_post(none, &legacy), Ok(PostRoute::Session));
    assert_eq!(
        route_post(none, &modern),
        Err(HeaderError::VersionHeaderMissing)
    );
    // In a session, the body's `_meta` is not read.
    let h: &[(&str, &str)] = &[("mcp-session-id", "00ab")];
    assert_eq!(route_post(h, &modern), Ok(PostRoute::Session));
}

#[test]
fn method_and_name_headers_must_match_the_body() {
    let r = call("{}");
    let ok: &[(&str, &str)] = &[("mcp-method", "tools/call"), ("mcp-name", "echo")];
    assert_eq!(check_request(ok, &r, no_params), Ok(()));
    let b64: &[(&str, &str)] = &[
        ("mcp-method", "=?base64?dG9vbHMvY2FsbA==?="),
        ("mcp-name", "=?base64?ZWNobw==?="),
    ];
    assert_eq!(check_request(b64, &r, no_params), Ok(()));
    let none: &[(&str, &str)] = &[];
    assert_eq!(
        check_request(none, &r, no_params),
        Err(HeaderError::MethodMissing)
    );
    let other: &[(&str, &str)] = &[("mcp-method", "tools/list")];
    let e = check_request(other, &r, no_params).unwrap_err();
    assert_eq!(
        ErrorObject::from(e),
        ErrorObject::new(
            code::HEADER_MISMATCH,
            "Header mismatch: Mcp-Method header value 'tools/list' does not match body value 'tools/call'"
        )
    );
    let no_name: &[(&str, &str)] = &[("mcp-method", "tools/call")];
    assert_eq!(
        check_request(no_name, &r, no_params),
        Err(HeaderError::NameMissing)
    );
    let bad_name: &[(&str, &str)] = &[("mcp-method", "tools/call"), ("mcp-name", "=?base64?!?=")];
    assert_eq!(
        check_request(bad_name, &r, no_params),
        Err(HeaderError::NameMissing)
    );
    let wrong: &[(&str, &str)] = &[("mcp-method", "tools/call"), ("mcp-name", "other")];
    assert!(matches!(
        check_request(wrong, &r, no_params),
        Err(HeaderError::NameMismatch { .. })
    ));
}

#[test]
fn params_of_the_wrong_shape_are_invalid_params() {
    let r = request(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#);
    let h: &[(&str, &str)] = &[("mcp-method", "tools/call")];
    let e = check_request(h, &r, no_params).unwrap_err();
    assert!(matches!(e, HeaderError::InvalidParams(_)));
    assert_eq!(ErrorObject::from(e).code, code::INVALID_PARAMS);
    let r = request(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#);
    assert!(matches!(
        check_request(h, &r, no_params),
        Err(HeaderError::InvalidParams(_))
    ));
}

#[test]
fn meta_must_name_the_version_and_carry_capabilities() {
    let h: &[(&str, &str)] = &[("mcp-method", "tools/list")];
    let r = request(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    let e = check_request(h, &r, no_params).unwrap_err();
    assert_eq!(e, HeaderError::MetaVersionMissing);
    assert_eq!(ErrorObject::from(e).code, code::INVALID_PARAMS);
    let r = request(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}"#,
    );
    let e = check_request(h, &r, no_params).unwrap_err();
    assert_eq!(
        ErrorObject::from(e).message,
        "Header mismatch: MCP-Protocol-Version header value '2026-07-28' does not match body value '2025-06-18'"
    );
    for caps in [
        "",
        r#","io.modelcontextprotocol/clientCapabilities":null"#,
        r#","io.modelcontextprotocol/clientCapabilities":[]"#,
    ] {
        let r = request(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28"{caps}}}}}}}"#
        ));
        assert_eq!(
            check_request(h, &r, no_params),
            Err(HeaderError::MetaCapabilitiesMissing),
            "{caps}"
        );
    }
    let r = request(&format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{META}}}}}"#
    ));
    assert_eq!(check_request(h, &r, no_params), Ok(()));
}

#[test]
fn param_headers_must_agree_with_arguments() {
    let params = vec![
        ("region".to_owned(), "Region".to_owned()),
        ("count".to_owned(), "Count".to_owned()),
        ("flag".to_owned(), "Flag".to_owned()),
        ("tags".to_owned(), "Tags".to_owned()),
    ];
    let declared = |_: &str| params.as_slice();
    let base: [(&str, &str); 2] = [("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        base.iter().chain(extra).copied().collect()
    };
    let r = call(r#"{"region":"eu-west","count":3,"flag":true,"tags":["a"]}"#);
    let all = with(&[
        ("mcp-param-region", "eu-west"),
        ("mcp-param-count", "3.0"),
        ("mcp-param-flag", "true"),
        ("mcp-param-tags", "=?base64?WyJhIl0=?="),
    ]);
    assert_eq!(check_request(all.as_slice(), &r, declared), Ok(()));
    let missing = with(&[("mcp-param-region", "eu-west")]);
    assert_eq!(
        check_request(missing.as_slice(), &r, declared),
        Err(HeaderError::ParamMissing {
            suffix: "Count".into(),
            arg: "count".into()
        })
    );
    // Null and absent arguments both need no header, and allow none.
    let r = call(r#"{"region":null}"#);
    assert_eq!(check_request(with(&[]).as_slice(), &r, declared), Ok(()));
    let extra = with(&[("mcp-param-region", "eu")]);
    assert!(matches!(
        check_request(extra.as_slice(), &r, declared),
        Err(HeaderError::ParamUnexpected { .. })
    ));
    let r = call(r#"{"region":"eu"}"#);
    let bad = with(&[("mcp-param-region", "=?base64?ZXU?=")]);
    assert_eq!(
        check_request(bad.as_slice(), &r, declared),
        Err(HeaderError::ParamNotBase64 {
            suffix: "Region".into()
        })
    );
    let wrong = with(&[("mcp-param-region", "us")]);
    let e = check_request(wrong.as_slice(), &r, declared).unwrap_err();
    assert_eq!(
        ErrorObject::from(e).message,
        "Header mismatch: Mcp-Param-Region header value does not match argument region"
    );
    let r = call(r#"{"flag":false}"#);
    let ok = with(&[("mcp-param-flag", "false")]);
    assert_eq!(check_request(ok.as_slice(), &r, declared), Ok(()));
    let no = with(&[("mcp-param-flag", "False")]);
    assert!(check_request(no.as_slice(), &r, declared).is_err());
}

#[test]
fn trace_headers_join_meta_unless_the_body_has_its_own() {
    let h: &[(&str, &str)] = &[("traceparent", "00-abc-def-01"), ("tracestate", "k=v")];
    let parsed = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    let r = single_request(&with_trace_headers(h, parsed)).cloned();
    let params = r.and_then(|r| r.params).map(|p| p.get().to_owned());
    assert_eq!(
        params.as_deref(),
        Some(r#"{"_meta":{"traceparent":"00-abc-def-01","tracestate":"k=v"}}"#)
    );
    let parsed = jsonrpc::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"traceparent":"own"}}}"#,
    );
    let r = single_request(&with_trace_headers(h, parsed)).cloned();
    let params = r.and_then(|r| r.params).map(|p| p.get().to_owned());
    assert_eq!(
        params.as_deref(),
        Some(r#"{"_meta":{"traceparent":"own"}}"#)
    );
    // Untraced requests are passed through untouched.
    let none: &[(&str, &str)] = &[];
    let parsed = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{ }}"#);
    let r = single_request(&with_trace_headers(none, parsed)).cloned();
    assert_eq!(
        r.and_then(|r| r.params)
            .map(|p| p.get().to_owned())
            .as_deref(),
        Some("{ }")
    );
}

#[test]
fn request_ids_of_single_and_batch_bodies() {
    let one = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#);
    let ids: Vec<String> = request_ids(&one)
        .iter()
        .map(|id| id.as_json().to_owned())
        .collect();
    assert_eq!(ids, [r#""a""#]);
    let batch = jsonrpc::parse(
        br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
    );
    assert_eq!(request_ids(&batch).len(), 2);
    let note = jsonrpc::parse(br#"{"jsonrpc":"2.0","method":"notifications/x"}"#);
    assert!(request_ids(&note).is_empty());
}
