//! The Streamable HTTP header rules, sans-IO: which rules a POST follows (2026-07-28 stateless or a
//! legacy session), the 2026-07-28 headers that repeat the body (`Mcp-Method`, `Mcp-Name`,
//! `Mcp-Param-*`, with the one `=?base64?...?=` decoder) and the `_meta` keys every stateless
//! request must carry, W3C trace headers spliced into `_meta`, and the request ids a body carries.
//! The client's side of the `Mcp-Param-*` rules (encoding, `x-mcp-header` validation) is in
//! [`params`].
//!
//! Everything here reads headers through [`HeaderSource`] and answers with values or a typed
//! [`HeaderError`]; the server turns that into the HTTP response. Nothing here writes responses,
//! keeps sessions or reads a clock.

use crate::dispatch::{is_object, meta_protocol_version, params_by_name, unsupported_version};
use crate::framing::http::HttpRequest;
use crate::jsonrpc::{code, ErrorObject, Message, Parsed, Request, RequestId};
use crate::revision::ProtocolVersion;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

pub mod params;

pub use params::{encode_header, needs_base64, param_header_value, tool_header_params};

/// `MCP-Protocol-Version` (names are lower case, as [`HttpRequest::header`] takes them).
pub const VERSION_HEADER: &str = "mcp-protocol-version";
/// `Mcp-Session-Id`: names a legacy session.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// `Mcp-Method`: a 2026-07-28 request's method.
pub const METHOD_HEADER: &str = "mcp-method";
/// `Mcp-Name`: the tool, prompt, resource or task a 2026-07-28 request names.
pub const NAME_HEADER: &str = "mcp-name";

/// Where the header rules read headers from.
pub trait HeaderSource {
    /// The first value of the header with this lower-case name.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        HttpRequest::header(self, name)
    }
}

impl HeaderSource for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// Whether a protocol version names the stateless revision (whose requests carry their routing in
/// headers).
pub fn is_stateless(version: &str) -> bool {
    ProtocolVersion::parse(version).is_some_and(ProtocolVersion::is_modern)
}

/// Header values that are not plain may be sent as `=?base64?...?=` (standard alphabet, strict
/// padding, UTF-8 inside). `None` when that encoding is broken; plain values are borrowed.
pub fn decode_header(value: &str) -> Option<Cow<'_, str>> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(b64) => STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Cow::Owned),
        None => Some(Cow::Borrowed(value)),
    }
}

/// Why a request breaks the Streamable HTTP header rules. [`ErrorObject::from`] gives the
/// JSON-RPC error to answer with (always with HTTP status 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HeaderError {
    /// `MCP-Protocol-Version` names a revision this crate does not speak.
    #[error("unsupported protocol version '{0}'")]
    UnsupportedVersion(String),
    /// A sessionless 2026-07-28 body came without `MCP-Protocol-Version`.
    #[error("MCP-Protocol-Version header is required")]
    VersionHeaderMissing,
    /// No (decodable) `Mcp-Method`.
    #[error("Mcp-Method header is required")]
    MethodMissing,
    /// `Mcp-Method` differs from the body's method.
    #[error("Mcp-Method header value '{header}' does not match body value '{body}'")]
    MethodMismatch {
        /// The decoded header value.
        header: String,
        /// The body's method.
        body: String,
    },
    /// The params do not have the shape of the fields the rules compare (invalid params, not a
    /// header mismatch).
    #[error("{0}")]
    InvalidParams(ErrorObject),
    /// No (decodable) `Mcp-Name` for a method that names something.
    #[error("Mcp-Name header is required")]
    NameMissing,
    /// `Mcp-Name` differs from the body's name, URI or task id.
    #[error("Mcp-Name header value '{header}' does not match body value '{body}'")]
    NameMismatch {
        /// The decoded header value.
        header: String,
        /// The body's value.
        body: String,
    },
    /// An argument declared as a header was sent without its `Mcp-Param-*` header.
    #[error("Mcp-Param-{suffix} header is required for argument {arg}")]
    ParamMissing {
        /// The header name after `Mcp-Param-`, as the tool declared it.
        suffix: String,
        /// The argument.
        arg: String,
    },
    /// An `Mcp-Param-*` header came without its argument.
    #[error("Mcp-Param-{suffix} header given without argument {arg}")]
    ParamUnexpected {
        /// The header name after `Mcp-Param-`.
        suffix: String,
        /// The argument.
        arg: String,
    },
    /// An `Mcp-Param-*` header's `=?base64?...?=` value does not decode.
    #[error("Mcp-Param-{suffix} is not valid Base64")]
    ParamNotBase64 {
        /// The header name after `Mcp-Param-`.
        suffix: String,
    },
    /// An `Mcp-Param-*` header differs from its argument.
    #[error("Mcp-Param-{suffix} header value does not match argument {arg}")]
    ParamMismatch {
        /// The header name after `Mcp-Param-`.
        suffix: String,
        /// The argument.
        arg: String,
    },
    /// `_meta` names no protocol version.
    #[error("_meta must carry io.modelcontextprotocol/protocolVersion")]
    MetaVersionMissing,
    /// `_meta` names another protocol version than the header.
    #[error("MCP-Protocol-Version header value '{header}' does not match body value '{body}'")]
    VersionMismatch {
        /// The header's version.
        header: &'static str,
        /// The body's version.
        body: String,
    },
    /// `_meta` carries no client capabilities object.
    #[error("_meta must carry io.modelcontextprotocol/clientCapabilities")]
    MetaCapabilitiesMissing,
}

impl From<HeaderError> for ErrorObject {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::InvalidParams(e) => e,
            HeaderError::UnsupportedVersion(v) => unsupported_version(&v),
            HeaderError::MetaVersionMissing | HeaderError::MetaCapabilitiesMissing => {
                ErrorObject::invalid_params(e)
            }
            e => ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {e}")),
        }
    }
}

/// The rules a POST to the MCP endpoint follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostRoute {
    /// 2026-07-28: stateless, headers checked by [`check_request`].
    Stateless,
    /// A session-based revision (initialize, or a request in an `Mcp-Session-Id` session).
    Session,
}

/// The request of a body holding exactly one well-formed request.
pub fn single_request(parsed: &Parsed) -> Option<&Request> {
    match parsed {
        Parsed::Single(Ok(Message::Request(r))) => Some(r),
        _ => None,
    }
}

/// Decide by `MCP-Protocol-Version` which rules a POST follows. A version this crate does not
/// speak is refused; so is a sessionless body naming 2026-07-28 in `_meta` without the header.
pub fn route_post(
    headers: &(impl HeaderSource + ?Sized),
    parsed: &Parsed,
) -> Result<PostRoute, HeaderError> {
    match headers.header(VERSION_HEADER) {
        Some(v) if is_stateless(v) => Ok(PostRoute::Stateless),
        Some(v) if ProtocolVersion::parse(v).is_none() => {
            Err(HeaderError::UnsupportedVersion(v.to_owned()))
        }
        // Only the body's `_meta` is read here, and only for sessionless requests without the
        // header (the others never pay for it).
        None if headers.header(SESSION_HEADER).is_none()
            && single_request(parsed)
                .and_then(|r| meta_protocol_version(r.params.as_deref()))
                .is_some_and(|v| is_stateless(&v)) =>
        {
            Err(HeaderError::VersionHeaderMissing)
        }
        _ => Ok(PostRoute::Session),
    }
}

/// The parts of a 2026-07-28 request's params the HTTP header rules compare against.
#[derive(serde::Deserialize, Default)]
pub struct HeaderView<'a> {
    /// `name` (tools/call, prompts/get).
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `uri` (resources/read).
    #[serde(borrow, default)]
    pub uri: Option<Cow<'a, str>>,
    /// `taskId` (tasks/*).
    #[serde(rename = "taskId", borrow, default)]
    pub task_id: Option<Cow<'a, str>>,
    /// `arguments` (tools/call), unparsed.
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
    /// `_meta`.
    #[serde(rename = "_meta", borrow, default)]
    pub meta: Option<MetaView<'a>>,
}

/// The 2026-07-28 `_meta` keys the HTTP layer checks.
#[derive(serde::Deserialize)]
pub struct MetaView<'a> {
    /// `io.modelcontextprotocol/protocolVersion`.
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    pub version: Option<Cow<'a, str>>,
    /// `io.modelcontextprotocol/clientCapabilities`, unparsed.
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    pub capabilities: Option<&'a RawValue>,
}

impl<'a> HeaderView<'a> {
    /// Read only what the header rules compare, without building the params as a tree: the engine
    /// parses them once, typed. Params that do not even have the shape of these fields are
    /// invalid params, not a header mismatch.
    pub fn of(params: Option<&'a RawValue>) -> Result<Self, ErrorObject> {
        match params {
            None => Ok(HeaderView::default()),
            Some(p) => {
                params_by_name(p)?;
                serde_json::from_str(p.get()).map_err(ErrorObject::invalid_params)
            }
        }
    }
}

/// Check a 2026-07-28 request's headers against its body, in the order a client learns most from:
/// `Mcp-Method`, `Mcp-Name` (for methods that name something), the `Mcp-Param-*` headers of a tool
/// call (`header_params` gives the tool's `(argument, header suffix)` pairs), then the `_meta`
/// protocol version and client capabilities.
pub fn check_request<'p>(
    headers: &(impl HeaderSource + ?Sized),
    request: &Request,
    header_params: impl FnOnce(&str) -> &'p [(String, String)],
) -> Result<(), HeaderError> {
    match headers.header(METHOD_HEADER).and_then(decode_header) {
        None => return Err(HeaderError::MethodMissing),
        Some(m) if *m != *request.method => {
            return Err(HeaderError::MethodMismatch {
                header: m.into_owned(),
                body: request.method.clone(),
            })
        }
        Some(_) => {}
    }
    let view = HeaderView::of(request.params.as_deref()).map_err(HeaderError::InvalidParams)?;
    let name_field = match request.method.as_str() {
        "tools/call" | "prompts/get" => Some(view.name.as_deref()),
        "resources/read" => Some(view.uri.as_deref()),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some(view.task_id.as_deref()),
        _ => None,
    };
    if let Some(body_value) = name_field {
        let body_value = body_value.unwrap_or_default();
        match headers.header(NAME_HEADER).and_then(decode_header) {
            None => return Err(HeaderError::NameMissing),
            Some(n) if *n != *body_value => {
                return Err(HeaderError::NameMismatch {
                    header: n.into_owned(),
                    body: body_value.to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    if request.method == "tools/call" {
        let tool = view.name.as_deref().unwrap_or_default();
        check_param_headers(headers, header_params(tool), view.arguments)?;
    }
    check_meta(view.meta.as_ref())
}

/// The `_meta` of a request sent with `MCP-Protocol-Version: 2026-07-28` must name that version
/// and carry a client capabilities object.
fn check_meta(meta: Option<&MetaView<'_>>) -> Result<(), HeaderError> {
    const HEADER: ProtocolVersion = ProtocolVersion::V2026_07_28;
    match meta.and_then(|m| m.version.as_deref()) {
        None => return Err(HeaderError::MetaVersionMissing),
        Some(v) if ProtocolVersion::parse(v) != Some(HEADER) => {
            return Err(HeaderError::VersionMismatch {
                header: HEADER.as_str(),
                body: v.to_owned(),
            })
        }
        Some(_) => {}
    }
    if !meta.and_then(|m| m.capabilities).is_some_and(is_object) {
        return Err(HeaderError::MetaCapabilitiesMissing);
    }
    Ok(())
}

/// SEP-2243: a tool argument whose schema carries `x-mcp-header: Name` travels in the
/// `Mcp-Param-Name` header too (plain, or `=?base64?...?=` with strict padding), and the two
/// must agree. A missing header, a bad encoding or a different value is a mismatch.
pub fn check_param_headers(
    headers: &(impl HeaderSource + ?Sized),
    params: &[(String, String)],
    args: Option<&RawValue>,
) -> Result<(), HeaderError> {
    if params.is_empty() {
        return Ok(());
    }
    let args: Option<Value> = args.and_then(|a| serde_json::from_str(a.get()).ok());
    let args = args.as_ref();
    for (arg, suffix) in params {
        let header = format!("mcp-param-{}", suffix.to_ascii_lowercase());
        let body = args.and_then(|a| a.get(arg)).filter(|v| !v.is_null());
        let sent = headers.header(&header);
        let (body, sent) = match (body, sent) {
            (None, None) => continue,
            (Some(_), None) => {
                return Err(HeaderError::ParamMissing {
                    suffix: suffix.clone(),
                    arg: arg.clone(),
                })
            }
            (None, Some(_)) => {
                return Err(HeaderError::ParamUnexpected {
                    suffix: suffix.clone(),
                    arg: arg.clone(),
                })
            }
            (Some(b), Some(s)) => (b, s),
        };
        let decoded = decode_header(sent).ok_or_else(|| HeaderError::ParamNotBase64 {
            suffix: suffix.clone(),
        })?;
        let decoded: &str = &decoded;
        let agrees = match body {
            Value::String(s) => s == decoded,
            Value::Number(n) => decoded.parse::<f64>().ok() == n.as_f64(),
            Value::Bool(b) => decoded == if *b { "true" } else { "false" },
            other => serde_json::from_str::<Value>(decoded).is_ok_and(|v| v == *other),
        };
        if !agrees {
            return Err(HeaderError::ParamMismatch {
                suffix: suffix.clone(),
                arg: arg.clone(),
            });
        }
    }
    Ok(())
}

/// W3C trace context sent as HTTP headers joins a single request's `_meta` (where the engine
/// looks for it), unless the body already carries its own. Only traced requests pay for this.
pub fn with_trace_headers(headers: &(impl HeaderSource + ?Sized), parsed: Parsed) -> Parsed {
    let Some(traceparent) = headers.header("traceparent") else {
        return parsed;
    };
    let Parsed::Single(Ok(Message::Request(mut r))) = parsed else {
        return parsed;
    };
    let mut params: Value = r
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = params.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| serde_json::json!({}));
        if let Some(meta) = meta.as_object_mut() {
            if !meta.contains_key("traceparent") {
                meta.insert("traceparent".into(), Value::String(traceparent.to_owned()));
                if let Some(ts) = headers.header("tracestate") {
                    meta.insert("tracestate".into(), Value::String(ts.to_owned()));
                }
            }
        }
        if let Ok(raw) = RawValue::from_string(params.to_string()) {
            r.params = Some(raw);
        }
    }
    Parsed::Single(Ok(Message::Request(r)))
}

/// The ids of the requests in a body (to cancel them if the client goes away).
pub fn request_ids(parsed: &Parsed) -> Vec<RequestId> {
    match parsed {
        Parsed::Single(Ok(Message::Request(r))) => vec![r.id.clone()],
        Parsed::Batch(items) => items
            .iter()
            .filter_map(|m| match m {
                Ok(Message::Request(r)) => Some(r.id.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
