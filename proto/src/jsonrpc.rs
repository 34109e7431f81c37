//! JSON-RPC 2.0 envelope: parsing one line (or batch) of bytes into requests, notifications and
//! responses, and writing responses back out.
//!
//! This module owns the wire shape only. It knows nothing of MCP methods or sessions; ids are kept
//! as their exact JSON text so that whatever a client sent (`7`, `"7"`, `1e3`, `18446744073709551616`)
//! comes back byte for byte.

use serde::de::{Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

mod id_text;

use id_text::IdText;

/// Standard JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error (a handler failed).
    pub const INTERNAL_ERROR: i32 = -32603;
    /// Legacy MCP: resource not found.
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// 2026-07-28: HTTP headers disagree with the body.
    pub const HEADER_MISMATCH: i32 = -32020;
    /// 2026-07-28: the request needs a client capability the client did not declare.
    pub const MISSING_CLIENT_CAPABILITY: i32 = -32021;
    /// 2026-07-28: the protocol version is not supported.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
    /// Server overloaded or rate limited (implementation-defined range).
    pub const SERVER_BUSY: i32 = -32000;
}

/// A request id, kept as the exact JSON text the client sent (a string or a number); a short
/// one inline, so that cloning it allocates nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(IdText);

impl RequestId {
    /// Build from already-validated JSON text of a string or number.
    fn from_raw(raw: &RawValue) -> Option<Self> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') | Some(b'-') | Some(b'0'..=b'9') => Some(RequestId(IdText::new(text))),
            _ => None,
        }
    }

    /// A numeric id minted by this side (server-to-client requests).
    pub fn number(n: u64) -> Self {
        RequestId(IdText::new(&n.to_string()))
    }

    /// The id's exact JSON text.
    pub fn as_json(&self) -> &str {
        self.0.as_str()
    }

    /// The id as a JSON value (for embedding in typed structures such as `notifications/cancelled`).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.as_str()).unwrap_or(Value::Null)
    }

    /// Parse an id from a JSON value (used by `notifications/cancelled`'s `requestId`).
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(_) | Value::Number(_) => Some(RequestId(IdText::new(&v.to_string()))),
            _ => None,
        }
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(self.0.as_str()) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_none(),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Error code (see [`code`]).
    pub code: i32,
    /// Short human-readable description.
    pub message: String,
    /// Extra structured detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with no data.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
    /// Attach structured data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
    /// -32700.
    pub fn parse_error(detail: impl fmt::Display) -> Self {
        Self::new(code::PARSE_ERROR, format!("Parse error: {detail}"))
    }
    /// -32600.
    pub fn invalid_request(detail: impl fmt::Display) -> Self {
        Self::new(code::INVALID_REQUEST, format!("Invalid Request: {detail}"))
    }
    /// -32601.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }
    /// -32602.
    pub fn invalid_params(detail: impl fmt::Display) -> Self {
        Self::new(code::INVALID_PARAMS, format!("Invalid params: {detail}"))
    }
    /// -32603.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(code::INTERNAL_ERROR, format!("Internal error: {detail}"))
    }
    /// -32000 for a client over its rate limit, with `data.retryAfterMs` (rounded up, so a
    /// client that waits that long finds a token).
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        Self::new(
            code::SERVER_BUSY,
            "rate limited: too many requests from this client",
        )
        .with_data(serde_json::json!({ "retryAfterMs": retry_after.as_millis() as u64 + 1 }))
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// A request: has an id and expects a response.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id to answer with.
    pub id: RequestId,
    /// Method name.
    pub method: String,
    /// Raw params (an object or array), parsed later against the method's type.
    pub params: Option<Box<RawValue>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Method name.
    pub method: String,
    /// Raw params.
    pub params: Option<Box<RawValue>>,
}

/// A response to a request this side sent.
#[derive(Debug, Clone)]
pub struct Response {
    /// Id of the request it answers (None when the peer answered with `id: null`).
    pub id: Option<RequestId>,
    /// The result, or the error.
    pub outcome: Result<Box<RawValue>, ErrorObject>,
}

/// One well-formed JSON-RPC message.
#[derive(Debug, Clone)]
pub enum Message {
    /// Expects a response.
    Request(Request),
    /// Fire and forget.
    Notification(Notification),
    /// Answers a request this side sent.
    Response(Response),
}

/// A message that could not be accepted, with the id to answer it under (if one was readable).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The request's id when it could be read, else `null` on the wire.
    pub id: Option<RequestId>,
    /// What was wrong.
    pub error: ErrorObject,
}

/// The result of parsing one frame.
#[derive(Debug)]
pub enum Parsed {
    /// A single message (or the reason it was rejected).
    Single(Result<Message, Rejected>),
    /// A JSON array: each element parsed on its own. Empty arrays are rejected as `Single`.
    Batch(Vec<Result<Message, Rejected>>),
}

fn raw_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "raw_field")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_field")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_field")]
    method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_field")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_field")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_field")]
    error: Option<&'a RawValue>,
}

/// Parse one frame (a JSON object or a batch array).
pub fn parse(bytes: &[u8]) -> Parsed {
    let trimmed = trim_ascii(bytes);
    // JSON text is UTF-8 (RFC 8259 8.1), everywhere: serde skips unknown members and ignored
    // values without looking at their bytes, so check the whole message once, up front. Every
    // pass below then reads a `&str`, which serde does not validate again.
    let text = match std::str::from_utf8(trimmed) {
        Ok(text) => text,
        Err(e) => {
            return Parsed::Single(Err(reject(
                None,
                ErrorObject::parse_error(format_args!("invalid UTF-8 at byte {}", e.valid_up_to())),
            )))
        }
    };
    if text.starts_with('[') {
        let items: Vec<&RawValue> = match serde_json::from_str(text) {
            Ok(items) => items,
            Err(e) => return Parsed::Single(Err(reject(None, ErrorObject::parse_error(e)))),
        };
        if items.is_empty() {
            return Parsed::Single(Err(reject(
                None,
                ErrorObject::invalid_request("empty batch"),
            )));
        }
        return Parsed::Batch(
            items
                .into_iter()
                .map(|raw| parse_object(raw.get()))
                .collect(),
        );
    }
    // The envelope pass reads every byte (its raw values are checked for syntax too), so a
    // message it accepts is well-formed JSON. Only a rejected one needs a syntax pass of its
    // own, to tell a parse error (`{"a":`) from an invalid request (`{"id":{}}`).
    match parse_object(text) {
        Ok(message) => Parsed::Single(Ok(message)),
        Err(rejected) => Parsed::Single(match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => Err(reject(None, ErrorObject::parse_error(e))),
            Ok(_) => Err(rejected),
        }),
    }
}

fn reject(id: Option<RequestId>, error: ErrorObject) -> Rejected {
    Rejected { id, error }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

fn parse_object(text: &str) -> Result<Message, Rejected> {
    if !text.trim_start().starts_with('{') {
        return Err(reject(
            None,
            ErrorObject::invalid_request("a message must be a JSON object"),
        ));
    }
    let env: Envelope<'_> =
        serde_json::from_str(text).map_err(|e| reject(None, ErrorObject::invalid_request(e)))?;
    let id = match env.id {
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) => Some(RequestId::from_raw(raw).ok_or_else(|| {
            reject(
                None,
                ErrorObject::invalid_request("id must be a string or a number"),
            )
        })?),
    };
    let id_present_null = matches!(env.id, Some(raw) if raw.get() == "null");
    match env.jsonrpc.map(|r| r.get()) {
        Some("\"2.0\"") => {}
        _ => {
            return Err(reject(
                id,
                ErrorObject::invalid_request("jsonrpc must be \"2.0\""),
            ))
        }
    }
    if let Some(method) = env.method {
        let method: String = serde_json::from_str(method.get()).map_err(|_| {
            reject(
                id.clone(),
                ErrorObject::invalid_request("method must be a string"),
            )
        })?;
        if env.result.is_some() || env.error.is_some() {
            return Err(reject(
                id,
                ErrorObject::invalid_request("a request cannot carry result or error"),
            ));
        }
        let params = match env.params {
            None => None,
            Some(p) if p.get() == "null" => None,
            Some(p) if matches!(p.get().as_bytes().first(), Some(b'{') | Some(b'[')) => {
                Some(p.to_owned())
            }
            Some(_) => {
                return Err(reject(
                    id,
                    ErrorObject::invalid_request("params must be an object or an array"),
                ))
            }
        };
        return Ok(match id {
            Some(id) => Message::Request(Request { id, method, params }),
            None if id_present_null => {
                return Err(reject(
                    None,
                    ErrorObject::invalid_request("id must not be null"),
                ))
            }
            None => Message::Notification(Notification { method, params }),
        });
    }
    match (env.result, env.error) {
        (Some(result), None) => match id {
            Some(id) => Ok(Message::Response(Response {
                id: Some(id),
                outcome: Ok(result.to_owned()),
            })),
            None => Err(reject(
                None,
                ErrorObject::invalid_request("a result needs an id"),
            )),
        },
        (None, Some(error)) => {
            let error: ErrorObject = serde_json::from_str(error.get()).map_err(|e| {
                reject(
                    id.clone(),
                    ErrorObject::invalid_request(format!("bad error object: {e}")),
                )
            })?;
            Ok(Message::Response(Response {
                id,
                outcome: Err(error),
            }))
        }
        (Some(_), Some(_)) => Err(reject(
            id,
            ErrorObject::invalid_request("both result and error"),
        )),
        (None, None) => Err(reject(
            id,
            ErrorObject::invalid_request("no method, result or error"),
        )),
    }
}

// The envelopes' constant parts are written as bytes and the id as its kept text: serde then
// only serialises what varies (the result, error or params). The output is byte for byte what a
// derived `{jsonrpc, id, result}` struct would serialise to.

/// `{"jsonrpc":"2.0","id":` and the id's text (`null` for none).
fn open_with_id(out: &mut Vec<u8>, id: Option<&RequestId>) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.map_or("null", RequestId::as_json).as_bytes());
}

/// Serialise `value` after `key` (e.g. `,"result":`) and close the object; `false` (and `out`
/// as it was before `key`) when serialisation fails.
fn member_and_close<T: Serialize + ?Sized>(out: &mut Vec<u8>, key: &[u8], value: &T) -> bool {
    let mark = out.len();
    out.extend_from_slice(key);
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(mark);
        return false;
    }
    out.push(b'}');
    true
}

/// Append a success response to `out` (no trailing newline).
pub fn write_result<T: Serialize + ?Sized>(out: &mut Vec<u8>, id: &RequestId, result: &T) {
    let mark = out.len();
    open_with_id(out, Some(id));
    if !member_and_close(out, br#","result":"#, result) {
        out.truncate(mark);
        write_error(
            out,
            Some(id),
            &ErrorObject::internal("result could not be serialised"),
        );
    }
}

/// Append a success response whose result is already serialised JSON (no trailing newline).
pub fn write_result_raw(out: &mut Vec<u8>, id: &RequestId, result_json: &[u8]) {
    open_with_id(out, Some(id));
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result_json);
    out.push(b'}');
}

/// Append an error response to `out` (no trailing newline). `id: None` writes `"id":null`.
pub fn write_error(out: &mut Vec<u8>, id: Option<&RequestId>, error: &ErrorObject) {
    let mark = out.len();
    open_with_id(out, id);
    if !member_and_close(out, br#","error":"#, error) {
        out.truncate(mark);
        out.extend_from_slice(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#,
        );
    }
}

/// Append a notification to `out` (no trailing newline).
pub fn write_notification<T: Serialize + ?Sized>(out: &mut Vec<u8>, method: &str, params: &T) {
    // Serialising our own types into a Vec cannot fail; a failure would leave `out` untouched.
    let mark = out.len();
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    if serde_json::to_writer(&mut *out, method).is_err()
        || !member_and_close(out, br#","params":"#, params)
    {
        out.truncate(mark);
    }
}

/// Append a request (server-to-client) to `out` (no trailing newline).
pub fn write_request<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    method: &str,
    params: &T,
) {
    let mark = out.len();
    open_with_id(out, Some(id));
    out.extend_from_slice(br#","method":"#);
    if serde_json::to_writer(&mut *out, method).is_err()
        || !member_and_close(out, br#","params":"#, params)
    {
        out.truncate(mark);
    }
}

#[cfg(test)]
mod tests;
