//! The HTTP headers MCP puts on a request: `MCP-Protocol-Version` once a version is known, and on
//! 2026-07-28 `Mcp-Method` on every request, `Mcp-Name` for the methods that name something, and
//! the `Mcp-Param-*` headers of a tool call's `x-mcp-header` arguments (values encoded by
//! [`crate::streamable_http::param_header_value`]).

use super::{ClientSession, Outgoing};
use crate::jsonrpc::write_request;
use crate::revision::ProtocolVersion;
use crate::streamable_http::{
    encode_header, param_header_value, METHOD_HEADER, NAME_HEADER, VERSION_HEADER,
};
use serde_json::{Map, Value};

/// The body field `Mcp-Name` repeats, by method.
fn name_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" | "tasks/result" => Some("taskId"),
        _ => None,
    }
}

impl ClientSession {
    /// The headers for a request with these (final) params.
    pub(crate) fn request_headers(
        &self,
        method: &str,
        params: &Map<String, Value>,
        version: ProtocolVersion,
    ) -> Vec<(String, String)> {
        let mut headers = vec![(VERSION_HEADER.to_owned(), version.as_str().to_owned())];
        if !version.is_modern() {
            return headers;
        }
        headers.push((METHOD_HEADER.to_owned(), encode_header(method).into_owned()));
        if let Some(value) = name_field(method)
            .and_then(|f| params.get(f))
            .and_then(Value::as_str)
        {
            headers.push((NAME_HEADER.to_owned(), encode_header(value).into_owned()));
        }
        if method == "tools/call" {
            let tool = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let args = params.get("arguments");
            for (arg, header) in self.tool_headers.get(tool).into_iter().flatten() {
                if let Some(value) = args.and_then(|a| a.get(arg)).and_then(param_header_value) {
                    headers.push((format!("Mcp-Param-{header}"), value));
                }
            }
        }
        headers
    }

    /// A request with a fresh id.
    pub(crate) fn request_out(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
        version: ProtocolVersion,
    ) -> Outgoing {
        let id = self.ids.next_id();
        let mut body = Vec::new();
        write_request(&mut body, &id, method, params);
        Outgoing {
            id: Some(id),
            method: Some(method.to_owned()),
            body,
            headers: self.request_headers(method, params, version),
        }
    }
}
