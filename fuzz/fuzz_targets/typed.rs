//! Structure-aware fuzzing of MCP message typing: the fuzzer's bytes choose a method (every
//! request the server knows, plus unknown ones) and build params out of MCP field names and
//! JSON values of every type, so typing, era detection and `_meta` reading are exercised deep
//! instead of stopping at the first unknown method name. Any params must type or give a spec
//! error, never a panic; the outcome must not depend on how the params were formatted; every
//! answer must serialise to valid JSON.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use ringmcp_proto::dispatch::{meta_protocol_version, ClientRequest, Era, REQUEST_METHODS};
use ringmcp_proto::jsonrpc::{self, RequestId};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// Besides every typed request: methods the server does not type, which must be -32601.
const OTHER_METHODS: &[&str] = &[
    "notifications/initialized",
    "sampling/createMessage",
    "",
    "tools/",
];

const KEYS: &[&str] = &[
    "_meta",
    "name",
    "arguments",
    "uri",
    "cursor",
    "protocolVersion",
    "capabilities",
    "clientInfo",
    "version",
    "level",
    "ref",
    "argument",
    "value",
    "context",
    "type",
    "taskId",
    "task",
    "ttl",
    "inputResponses",
    "requestState",
    "notifications",
    "resourceSubscriptions",
    "progressToken",
    "io.modelcontextprotocol/protocolVersion",
    "io.modelcontextprotocol/clientCapabilities",
    "io.modelcontextprotocol/clientInfo",
    "io.modelcontextprotocol/logLevel",
    "extensions",
    "io.modelcontextprotocol/tasks",
    "elicitation",
    "roots",
    "traceparent",
];

const STRINGS: &[&str] = &[
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
    "1999-01-01",
    "echo",
    "debug",
    "emergency",
    "ref/prompt",
    "ref/resource",
    "file:///a",
    "",
    "\u{0}",
    "é\u{10ffff}",
];

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let pick = if depth >= 6 {
        u.int_in_range(0..=4)?
    } else {
        u.int_in_range(0..=6)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => match u.int_in_range(0..=2)? {
            0 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
            1 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
            _ => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        },
        3 => Value::String(u.choose(STRINGS)?.to_string()),
        4 => Value::String(u.arbitrary::<String>()?),
        5 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| value(u, depth + 1)).collect::<Result<_>>()?)
        }
        _ => Value::Object(object(u, depth + 1)?),
    })
}

fn object(u: &mut Unstructured, depth: u32) -> Result<Map<String, Value>> {
    let n = u.int_in_range(0..=6)?;
    let mut map = Map::new();
    for _ in 0..n {
        let key = if u.ratio(7, 8)? {
            u.choose(KEYS)?.to_string()
        } else {
            u.arbitrary::<String>()?
        };
        map.insert(key, value(u, depth)?);
    }
    Ok(map)
}

/// Type one request and serialise its answer; returns the outcome (era or error code), which
/// must not depend on formatting (error messages may quote positions, so they are not compared).
fn answer(method: &str, params: Option<&RawValue>) -> String {
    let id = RequestId::number(7);
    let mut out = Vec::new();
    let _ = meta_protocol_version(params);
    let outcome = match ClientRequest::parse(method, params).and_then(|mut t| Era::of(&mut t)) {
        Ok(era) => {
            jsonrpc::write_result(&mut out, &id, &());
            // The era's variant; its context holds raw JSON whose formatting may differ.
            let name = format!("{era:?}");
            name.split('(').next().unwrap_or_default().to_owned()
        }
        Err(e) => {
            jsonrpc::write_error(&mut out, Some(&id), &e);
            format!("error {}", e.code)
        }
    };
    serde_json::from_slice::<Value>(&out).expect("every answer is valid JSON");
    outcome
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let pick = if u.ratio(7, 8).unwrap_or(true) {
        u.choose(&REQUEST_METHODS)
    } else {
        u.choose(OTHER_METHODS)
    };
    let Ok(method) = pick else { return };
    let params = match u.int_in_range(0..=3u8) {
        Ok(0) => None,
        Ok(1) => value(&mut u, 0).ok(),
        Ok(_) => object(&mut u, 0).ok().map(Value::Object),
        Err(_) => return,
    };
    let text = |pretty: bool| {
        params.as_ref().map(|p| {
            let t = if pretty {
                serde_json::to_string_pretty(p)
            } else {
                serde_json::to_string(p)
            };
            RawValue::from_string(t.expect("serialise")).expect("valid JSON")
        })
    };
    let (compact, pretty) = (text(false), text(true));
    let a = answer(method, compact.as_deref());
    let b = answer(method, pretty.as_deref());
    assert_eq!(a, b, "formatting changed the outcome of {method}");
});
