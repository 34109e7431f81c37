//! Building JSON-RPC messages the way the protocol names them:
//!
//! ```
//! use ringmcp_testkit::msg;
//! let line = msg::call(7, "echo").args(serde_json::json!({"text": "hi"})).stateless().line();
//! assert!(line.ends_with(b"\n"));
//! let init = msg::initialize(1, "2025-11-25").value();
//! assert_eq!(init["params"]["protocolVersion"], "2025-11-25");
//! ```

use crate::STATELESS;
use serde_json::{json, Map, Value};

/// A message being built; finish it with [`Msg::value`], [`Msg::text`] or [`Msg::line`].
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Msg(Value);

/// A request `method` with id `id` and no params yet.
pub fn request(id: impl Into<Value>, method: &str) -> Msg {
    Msg(json!({"jsonrpc": "2.0", "id": id.into(), "method": method}))
}

/// A notification `method` with no params yet.
pub fn notification(method: &str) -> Msg {
    Msg(json!({"jsonrpc": "2.0", "method": method}))
}

/// `tools/call` of tool `name` (no arguments yet).
pub fn call(id: impl Into<Value>, name: &str) -> Msg {
    request(id, "tools/call").param("name", name)
}

/// `resources/read` of `uri`.
pub fn read(id: impl Into<Value>, uri: &str) -> Msg {
    request(id, "resources/read").param("uri", uri)
}

/// `prompts/get` of prompt `name`.
pub fn prompt(id: impl Into<Value>, name: &str) -> Msg {
    request(id, "prompts/get").param("name", name)
}

/// `initialize` asking for `version`, with empty capabilities and the testkit as client.
pub fn initialize(id: impl Into<Value>, version: &str) -> Msg {
    request(id, "initialize").params(json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "ringmcp-testkit", "version": "1"},
    }))
}

/// `notifications/initialized`.
pub fn initialized() -> Msg {
    notification("notifications/initialized")
}

/// `notifications/cancelled` for request `id`.
pub fn cancel(id: impl Into<Value>) -> Msg {
    notification("notifications/cancelled").param("requestId", id)
}

/// A response to a server-to-client request.
pub fn answer(id: impl Into<Value>, result: Value) -> Msg {
    Msg(json!({"jsonrpc": "2.0", "id": id.into(), "result": result}))
}

/// An error response to a server-to-client request (the client refuses it).
pub fn reject(id: impl Into<Value>, code: i64, message: &str) -> Msg {
    Msg(json!({"jsonrpc": "2.0", "id": id.into(), "error": {"code": code, "message": message}}))
}

/// The `_meta` of a 2026-07-28 request: revision, empty client capabilities, client info.
pub fn stateless_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "ringmcp-testkit", "version": "1"},
    })
}

impl Msg {
    fn params_mut(&mut self) -> &mut Map<String, Value> {
        let params = self.0["params"].take();
        self.0["params"] = match params {
            Value::Object(map) => Value::Object(map),
            _ => Value::Object(Map::new()),
        };
        match &mut self.0["params"] {
            Value::Object(map) => map,
            _ => unreachable!("params was just made an object"),
        }
    }

    /// Set one member of `params`.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params_mut().insert(key.to_owned(), value.into());
        self
    }

    /// Merge `params` (an object) into the params; anything else replaces them (to send wrong
    /// shapes on purpose).
    pub fn params(mut self, params: Value) -> Self {
        match params {
            Value::Object(map) => self.params_mut().extend(map),
            other => self.0["params"] = other,
        }
        self
    }

    /// The `arguments` of a tool call or prompt.
    pub fn args(self, arguments: Value) -> Self {
        self.param("arguments", arguments)
    }

    /// One `_meta` member.
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        let params = self.params_mut();
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        meta[key] = value.into();
        self
    }

    /// Make it a 2026-07-28 request: the revision, client capabilities and client info in
    /// `_meta` (members already set are kept).
    pub fn stateless(mut self) -> Self {
        if let Value::Object(defaults) = stateless_meta() {
            for (key, value) in defaults {
                let params = self.params_mut();
                let meta = params.entry("_meta").or_insert_with(|| json!({}));
                if meta.get(&key).is_none() {
                    meta[key.as_str()] = value;
                }
            }
        }
        self
    }

    /// Ask for a task (`params.task`), as task-augmented requests do.
    pub fn as_task(self) -> Self {
        self.param("task", json!({}))
    }

    /// Replace or add any top-level member (`jsonrpc`, `id`, ...), to build malformed messages.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0[key] = value.into();
        self
    }

    /// Remove a top-level member.
    pub fn without(mut self, key: &str) -> Self {
        if let Value::Object(map) = &mut self.0 {
            map.remove(key);
        }
        self
    }

    /// The message as a JSON value.
    pub fn value(self) -> Value {
        self.0
    }

    /// The message as JSON text.
    pub fn text(&self) -> String {
        self.0.to_string()
    }

    /// The message as one newline-delimited line (stdio, TCP).
    pub fn line(&self) -> Vec<u8> {
        let mut bytes = self.text().into_bytes();
        bytes.push(b'\n');
        bytes
    }
}

impl From<Msg> for Value {
    fn from(msg: Msg) -> Value {
        msg.0
    }
}

/// A JSON array of messages (a 2025-03-26 batch).
pub fn batch(messages: impl IntoIterator<Item = Msg>) -> Value {
    Value::Array(messages.into_iter().map(Msg::value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_what_the_protocol_names() {
        let m = call(7, "echo").args(json!({"text": "hi"})).value();
        assert_eq!(
            m,
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"text": "hi"}}})
        );
        let s = request("a", "tools/list").stateless().meta("x", 1).value();
        assert_eq!(
            s["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            STATELESS
        );
        assert_eq!(s["params"]["_meta"]["x"], 1);
        let kept = request(1, "ping")
            .meta("io.modelcontextprotocol/protocolVersion", "1999-01-01")
            .stateless()
            .value();
        assert_eq!(
            kept["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], "1999-01-01",
            "stateless() keeps members set before it"
        );
        assert_eq!(cancel(3).value()["params"]["requestId"], 3);
        assert_eq!(
            request(1, "x").params(json!([1])).value()["params"],
            json!([1])
        );
        assert!(request(1, "x")
            .without("jsonrpc")
            .value()
            .get("jsonrpc")
            .is_none());
        assert_eq!(
            batch([initialized(), request(2, "ping")])
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(initialize(1, "2025-03-26").line().last(), Some(&b'\n'));
        assert_eq!(
            reject(4, -1, "no").value(),
            json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -1, "message": "no"}})
        );
    }
}
