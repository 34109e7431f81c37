//! Unit tests of `jsonrpc`.

use super::*;

fn single(s: &str) -> Result<Message, Rejected> {
    match parse(s.as_bytes()) {
        Parsed::Single(m) => m,
        Parsed::Batch(_) => panic!("unexpected batch"),
    }
}

#[test]
fn ids_are_preserved_exactly() {
    for id in [
        "7",
        "\"7\"",
        "1e3",
        "18446744073709551616",
        "-0",
        "\"\\u00e9\"",
    ] {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let Ok(Message::Request(req)) = single(&line) else {
            panic!("{line}")
        };
        let mut out = Vec::new();
        write_result(&mut out, &req.id, &serde_json::json!({}));
        let text = String::from_utf8(out).unwrap_or_default();
        assert!(text.contains(&format!(r#""id":{id}"#)), "{text}");
    }
}

#[test]
fn invalid_utf8_anywhere_is_a_parse_error() {
    for bytes in [
        &b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"x\":\"\xff\"}"[..],
        &b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"p\xc3\"}"[..],
        &b"[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"x\":[\"\xfe\"]}]"[..],
    ] {
        let Parsed::Single(Err(r)) = parse(bytes) else {
            panic!("{bytes:?} accepted");
        };
        assert_eq!(r.error.code, code::PARSE_ERROR, "{bytes:?}");
    }
}

#[test]
fn classifies_errors() {
    assert_eq!(single("{\"a\":").unwrap_err().error.code, code::PARSE_ERROR);
    // Broken syntax after (or inside) an otherwise fine envelope is still a parse error.
    for text in [
        r#"{"jsonrpc":"2.0","id":1,"method":"x"} x"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","extra":[1,]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":01}}"#,
        r#"{"jsonrpc":"2.0","id":{"a":},"method":"x"}"#,
    ] {
        assert_eq!(
            single(text).unwrap_err().error.code,
            code::PARSE_ERROR,
            "{text}"
        );
    }
    assert_eq!(single("nope").unwrap_err().error.code, code::PARSE_ERROR);
    let r = single(r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#).unwrap_err();
    assert_eq!(
        (r.error.code, r.id.map(|i| i.as_json().to_owned())),
        (code::INVALID_REQUEST, Some("3".into()))
    );
    assert_eq!(
        single(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#)
            .unwrap_err()
            .error
            .code,
        code::INVALID_REQUEST
    );
    assert_eq!(single("42").unwrap_err().error.code, code::INVALID_REQUEST);
    assert_eq!(
        single(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#)
            .unwrap_err()
            .error
            .code,
        code::INVALID_REQUEST
    );
}

#[test]
fn kinds() {
    assert!(matches!(
        single(r#"{"jsonrpc":"2.0","method":"n"}"#),
        Ok(Message::Notification(_))
    ));
    assert!(matches!(
        single(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
        Ok(Message::Response(_))
    ));
    assert!(matches!(
        single(r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#),
        Ok(Message::Response(Response {
            id: None,
            outcome: Err(_)
        }))
    ));
    match parse(br#"[{"jsonrpc":"2.0","method":"n"}, 1]"#) {
        Parsed::Batch(items) => {
            assert!(items[0].is_ok());
            assert!(items[1].is_err());
        }
        Parsed::Single(_) => panic!("expected a batch"),
    }
    assert!(matches!(parse(b"[]"), Parsed::Single(Err(_))));
}

/// The writers put constant parts down as bytes; what they write must stay what serde's derive
/// wrote before (clients and recorded transcripts compare bytes).
#[test]
fn writers_match_a_derived_envelope() {
    #[derive(Serialize)]
    struct Out<'a, T: Serialize> {
        jsonrpc: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a RequestId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        method: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a T>,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a T>,
    }
    let value = serde_json::json!({"content":[{"type":"text","text":"a\"b\u{1}é"}],"n":1.5});
    for id_text in ["7", "\"x\\\"y\"", "-1e3", &"9".repeat(40)] {
        let id =
            RequestId::from_raw(&serde_json::from_str::<Box<RawValue>>(id_text).unwrap()).unwrap();
        let derived = |o: &Out<'_, serde_json::Value>| serde_json::to_vec(o).unwrap();
        let mut out = Vec::new();
        write_result(&mut out, &id, &value);
        let o = Out {
            jsonrpc: "2.0",
            id: Some(&id),
            method: None,
            params: None,
            result: Some(&value),
        };
        assert_eq!(out, derived(&o));
        out.clear();
        write_request(&mut out, &id, "sampling/create\"Message", &value);
        let o = Out {
            jsonrpc: "2.0",
            id: Some(&id),
            method: Some("sampling/create\"Message"),
            params: Some(&value),
            result: None,
        };
        assert_eq!(out, derived(&o));
        out.clear();
        write_notification(&mut out, "notifications/progress", &value);
        let o = Out {
            jsonrpc: "2.0",
            id: None,
            method: Some("notifications/progress"),
            params: Some(&value),
            result: None,
        };
        assert_eq!(out, derived(&o));
        let error = ErrorObject::invalid_params("x\ny").with_data(value.clone());
        for id in [Some(&id), None] {
            out.clear();
            write_error(&mut out, id, &error);
            #[derive(Serialize)]
            struct Failed<'a> {
                jsonrpc: &'static str,
                id: Option<&'a RequestId>,
                error: &'a ErrorObject,
            }
            let expected = Failed {
                jsonrpc: "2.0",
                id,
                error: &error,
            };
            assert_eq!(out, serde_json::to_vec(&expected).unwrap());
        }
    }
}
