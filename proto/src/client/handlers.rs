//! What a client answers when the server asks it something (sampling, elicitation, roots), as
//! legacy server-to-client requests or 2026-07-28 input requests: the [`ClientHandler`] trait and
//! its defaults. The default elicitation answer accepts a form with the defaults its schema gives
//! and declines a URL elicitation; the default has no model, so sampling is refused.

use crate::jsonrpc::{code, ErrorObject};
use crate::types::input::{CREATE_MESSAGE, ELICIT, LIST_ROOTS};
use serde_json::{json, Map, Value};

/// Answers the server's requests to the client. Every method has a default.
pub trait ClientHandler {
    /// The client capabilities object to declare (roots, sampling and elicitation by default,
    /// each as an object).
    fn capabilities(&self) -> Value {
        json!({
            "roots": { "listChanged": false },
            "sampling": {},
            "elicitation": { "form": {}, "url": {} },
        })
    }

    /// `elicitation/create`: by default accept a form with its schema's defaults, decline a URL.
    fn elicit(&mut self, params: &Value) -> Result<Value, ErrorObject> {
        if params.get("mode").and_then(Value::as_str) == Some("url") {
            return Ok(json!({ "action": "decline" }));
        }
        let schema = params.get("requestedSchema").unwrap_or(&Value::Null);
        Ok(json!({ "action": "accept", "content": fill_elicitation_defaults(schema) }))
    }

    /// `sampling/createMessage`: refused by default (no model behind this client).
    fn create_message(&mut self, _params: &Value) -> Result<Value, ErrorObject> {
        Err(ErrorObject::new(
            code::INVALID_REQUEST,
            "sampling is not available in this client",
        ))
    }

    /// `roots/list`: none by default.
    fn list_roots(&mut self, _params: &Value) -> Result<Value, ErrorObject> {
        Ok(json!({ "roots": [] }))
    }
}

/// The handler with every default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultHandler;

impl ClientHandler for DefaultHandler {}

/// Run the handler method for a server request or input request.
pub(crate) fn dispatch(
    handler: &mut (impl ClientHandler + ?Sized),
    method: &str,
    params: &Value,
) -> Result<Value, ErrorObject> {
    match method {
        ELICIT => handler.elicit(params),
        CREATE_MESSAGE => handler.create_message(params),
        LIST_ROOTS => handler.list_roots(params),
        "ping" => Ok(json!({})),
        other => Err(ErrorObject::method_not_found(other)),
    }
}

/// The content of an elicitation form filled with the `default` of each property of its
/// `requestedSchema` (properties without one are left out).
pub fn fill_elicitation_defaults(requested_schema: &Value) -> Value {
    let mut content = Map::new();
    if let Some(props) = requested_schema
        .get("properties")
        .and_then(Value::as_object)
    {
        for (name, prop) in props {
            if let Some(default) = prop.get("default") {
                content.insert(name.clone(), default.clone());
            }
        }
    }
    Value::Object(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_elicitation_fills_schema_defaults() {
        let params = json!({"message":"m","requestedSchema":{"type":"object","properties":{
            "name":{"type":"string","default":"John Doe"},
            "age":{"type":"integer","default":30},
            "status":{"type":"string","enum":["active","inactive"],"default":"active"},
            "free":{"type":"string"}}}});
        let got = DefaultHandler.elicit(&params).unwrap_or_default();
        assert_eq!(
            got,
            json!({"action":"accept","content":{"name":"John Doe","age":30,"status":"active"}})
        );
        let url = json!({"mode":"url","url":"https://example.com","message":"m"});
        assert_eq!(
            DefaultHandler.elicit(&url).unwrap_or_default(),
            json!({"action":"decline"})
        );
        assert!(dispatch(&mut DefaultHandler, "nope/nope", &json!({})).is_err());
    }
}
