//! Structure-aware fuzzing of the Streamable HTTP header rules: the bytes build a 2026-07-28
//! request (method, the field `Mcp-Name` repeats, tool arguments of every JSON type, `_meta`) and
//! its headers, each copied from the body, base64-encoded, left out or arbitrary. The rules must
//! never panic; a header means the same plain or as `=?base64?...?=`; headers copied from the body
//! are never a mismatch; every verdict serialises to a valid JSON-RPC error.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use ringmcp_proto::jsonrpc::{self, ErrorObject, RequestId};
use ringmcp_proto::streamable_http::{
    check_request, decode_header, route_post, single_request, HeaderError, PostRoute,
};
use serde_json::{Map, Number, Value};

const METHODS: &[&str] = &[
    "tools/call",
    "prompts/get",
    "resources/read",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "tools/list",
    "subscriptions/listen",
    "server/discover",
    "",
];

const VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2024-11-05", "1999-01-01", ""];

/// The tool's `(argument, header suffix)` pairs (`x-mcp-header` in its schema).
const HEADER_ARGS: [(&str, &str); 3] =
    [("region", "Region"), ("count", "Count"), ("opts", "X-Opts")];

const STRINGS: &[&str] = &[
    "echo",
    "",
    "=?base64?ZWNobw==?=",
    "=?base64?!?=",
    "é\u{10ffff}",
    "\u{0}",
];

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let pick = if depth >= 4 {
        u.int_in_range(0..=4)?
    } else {
        u.int_in_range(0..=6)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        // Floats only where an argument's header is compared as a number: serde_json (without
        // `float_roundtrip`) may read a float written by itself one ULP off, so a float nested in
        // an array or object argument is a known mismatch, not what this target looks for.
        2 => match u.int_in_range(0..=if depth <= 1 { 2 } else { 1 })? {
            0 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
            1 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
            _ => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        },
        3 => Value::String(u.choose(STRINGS)?.to_string()),
        4 => Value::String(u.arbitrary::<String>()?),
        5 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array((0..n).map(|_| value(u, depth + 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=3)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(u.arbitrary::<String>()?, value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// A string field: mostly a string, sometimes any value.
fn field(u: &mut Unstructured) -> Result<Value> {
    if u.ratio(7, 8)? {
        Ok(Value::String(if u.ratio(1, 2)? {
            u.choose(STRINGS)?.to_string()
        } else {
            u.arbitrary()?
        }))
    } else {
        value(u, 0)
    }
}

/// How a header is sent.
#[derive(Clone, Copy)]
enum Send {
    /// The body's value, plain where plain is unambiguous.
    Copy,
    /// The body's value, base64-encoded.
    Base64,
    /// Left out.
    Absent,
    /// Arbitrary text.
    Other,
}

fn send(u: &mut Unstructured) -> Result<Send> {
    Ok(match u.int_in_range(0..=7)? {
        0..=3 => Send::Copy,
        4 => Send::Base64,
        5 => Send::Absent,
        _ => Send::Other,
    })
}

fn b64(s: &str) -> String {
    format!("=?base64?{}?=", STANDARD.encode(s))
}

/// Whether a plain header value would be read as the base64 form.
fn looks_encoded(s: &str) -> bool {
    s.starts_with("=?base64?") && s.ends_with("?=")
}

/// One header as sent (`plain`) and with every value that can be encoded encoded (`encoded`).
fn header(
    name: String,
    how: Send,
    body: Option<String>,
    other: String,
    plain: &mut Vec<(String, String)>,
    encoded: &mut Vec<(String, String)>,
) {
    let sent = match (how, body) {
        (Send::Absent, _) | (Send::Copy | Send::Base64, None) => return,
        (Send::Copy, Some(v)) if !looks_encoded(&v) => v,
        (Send::Copy | Send::Base64, Some(v)) => b64(&v),
        (Send::Other, _) => other,
    };
    let same = if looks_encoded(&sent) {
        sent.clone()
    } else {
        b64(&sent)
    };
    plain.push((name.clone(), sent));
    encoded.push((name, same));
}

/// How the body's value of a tool argument is written in its header.
fn as_header(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn view(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// The verdict must be a valid JSON-RPC error.
fn answer(e: &HeaderError) {
    let mut out = Vec::new();
    jsonrpc::write_error(
        &mut out,
        Some(&RequestId::number(1)),
        &ErrorObject::from(e.clone()),
    );
    serde_json::from_slice::<Value>(&out).expect("every verdict is valid JSON");
}

fn run(u: &mut Unstructured) -> Result<()> {
    let method = *u.choose(METHODS)?;
    let name_key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => "taskId",
    };
    let mut params = Map::new();
    if u.ratio(7, 8)? {
        params.insert(name_key.to_owned(), field(u)?);
    }
    if u.ratio(3, 4)? {
        let args = if u.ratio(7, 8)? {
            let mut args = Map::new();
            for (arg, _) in HEADER_ARGS {
                if u.ratio(3, 4)? {
                    args.insert(arg.to_owned(), value(u, 1)?);
                }
            }
            Value::Object(args)
        } else {
            value(u, 0)?
        };
        params.insert("arguments".to_owned(), args);
    }
    if u.ratio(7, 8)? {
        let mut meta = Map::new();
        if u.ratio(7, 8)? {
            let v = if u.ratio(7, 8)? {
                Value::String(u.choose(VERSIONS)?.to_string())
            } else {
                value(u, 1)?
            };
            meta.insert("io.modelcontextprotocol/protocolVersion".to_owned(), v);
        }
        if u.ratio(7, 8)? {
            let caps = if u.ratio(3, 4)? {
                serde_json::json!({})
            } else {
                value(u, 1)?
            };
            meta.insert(
                "io.modelcontextprotocol/clientCapabilities".to_owned(),
                caps,
            );
        }
        params.insert("_meta".to_owned(), Value::Object(meta));
    }
    let params = if u.ratio(15, 16)? {
        Value::Object(params)
    } else {
        value(u, 0)?
    };
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let parsed = jsonrpc::parse(body.to_string().as_bytes());
    // Headers are copied from the params as the server reads them (floats as parsed).
    let params: Value = single_request(&parsed)
        .and_then(|r| r.params.as_deref())
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or(Value::Null);

    let (mut plain, mut encoded) = (Vec::new(), Vec::new());
    let mut all_copied = true;
    let mut next = |u: &mut Unstructured| -> Result<Send> {
        let how = send(u)?;
        all_copied &= matches!(how, Send::Copy | Send::Base64);
        Ok(how)
    };
    let how = next(u)?;
    header(
        "mcp-method".into(),
        how,
        Some(method.to_owned()),
        u.arbitrary()?,
        &mut plain,
        &mut encoded,
    );
    let name = match params.get(name_key) {
        // A null field reads as absent: the header must then be empty.
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    let how = next(u)?;
    header(
        "mcp-name".into(),
        how,
        name,
        u.arbitrary()?,
        &mut plain,
        &mut encoded,
    );
    for (arg, suffix) in HEADER_ARGS {
        let body = params
            .get("arguments")
            .and_then(|a| a.get(arg))
            .and_then(as_header);
        let how = next(u)?;
        header(
            format!("mcp-param-{}", suffix.to_ascii_lowercase()),
            how,
            body,
            u.arbitrary()?,
            &mut plain,
            &mut encoded,
        );
    }
    let version = *u.choose(VERSIONS)?;
    plain.push(("mcp-protocol-version".into(), version.into()));
    encoded.push(("mcp-protocol-version".into(), version.into()));

    for (_, v) in &plain {
        let _ = decode_header(v);
    }
    let declared: Vec<(String, String)> = HEADER_ARGS
        .iter()
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect();
    let (plain, encoded) = (view(&plain), view(&encoded));

    match route_post(plain.as_slice(), &parsed) {
        Ok(route) => assert_eq!(route == PostRoute::Stateless, version == "2026-07-28"),
        Err(e) => answer(&e),
    }
    let Some(request) = single_request(&parsed) else {
        return Ok(());
    };
    let verdict = check_request(plain.as_slice(), request, |_| declared.as_slice());
    let same = check_request(encoded.as_slice(), request, |_| declared.as_slice());
    assert_eq!(
        verdict, same,
        "a header means the same plain or base64-encoded"
    );
    if let Err(e) = &verdict {
        answer(e);
        if all_copied {
            assert!(
                matches!(
                    e,
                    HeaderError::InvalidParams(_)
                        | HeaderError::MetaVersionMissing
                        | HeaderError::VersionMismatch { .. }
                        | HeaderError::MetaCapabilitiesMissing
                ),
                "headers copied from the body: {e:?}"
            );
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
