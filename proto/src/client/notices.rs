//! What a server tells a client unasked, and how a client opts in and out, sans-IO: a server
//! notification read as a [`Notice`] (its subscription id, its progress token), whether a legacy
//! session's notice is one a listener asked for (a legacy server sends list changes to every
//! session), and the messages that open and close a stream of them: `subscriptions/listen`
//! (2026-07-28), `resources/subscribe` / `unsubscribe` (legacy), `notifications/cancelled`.
//! Progress tokens for calls are minted here too. Waiting for any of it is the caller's business.

use super::{ClientError, ClientSession, Outgoing};
use crate::jsonrpc::{Notification, RequestId};
use crate::types::meta::SUBSCRIPTION_ID_KEY;
use crate::types::SubscriptionFilter;
use serde_json::{json, Map, Value};

/// The acknowledgement that opens a 2026-07-28 listen stream.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
/// Progress of a call.
pub const PROGRESS: &str = "notifications/progress";
/// Cancellation of a request (and, on stdio, the end of a listen stream).
pub const CANCELLED: &str = "notifications/cancelled";

/// A notification from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Its method.
    pub method: String,
    /// Its params (null when it had none).
    pub params: Value,
}

impl Notice {
    /// Read a notification as it arrived.
    pub fn from_notification(n: &Notification) -> Self {
        let params = n
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        Notice {
            method: n.method.clone(),
            params,
        }
    }

    /// The listen stream it came on (`_meta` `io.modelcontextprotocol/subscriptionId`), if any.
    pub fn subscription(&self) -> Option<RequestId> {
        self.params
            .get("_meta")
            .and_then(|m| m.get(SUBSCRIPTION_ID_KEY))
            .and_then(RequestId::from_value)
    }

    /// The progress token of a `notifications/progress`.
    pub fn progress_token(&self) -> Option<&Value> {
        (self.method == PROGRESS)
            .then(|| self.params.get("progressToken"))
            .flatten()
    }

    /// The request a `notifications/cancelled` names.
    pub fn cancelled_request(&self) -> Option<RequestId> {
        (self.method == CANCELLED)
            .then(|| self.params.get("requestId").and_then(RequestId::from_value))
            .flatten()
    }

    /// The JSON-RPC message, as one line of output.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "jsonrpc": "2.0", "method": self.method });
        if !self.params.is_null() {
            v["params"] = self.params.clone();
        }
        v
    }

    /// Whether a legacy session's notice is one `filter` asks for. A legacy server sends list
    /// changes to every session, so the unasked ones are dropped here; notices no filter field
    /// covers (log messages, progress of no live call) always pass.
    pub fn wanted_by(&self, filter: &SubscriptionFilter) -> bool {
        let on = |flag: Option<bool>| flag == Some(true);
        match self.method.as_str() {
            "notifications/tools/list_changed" => on(filter.tools_list_changed),
            "notifications/prompts/list_changed" => on(filter.prompts_list_changed),
            "notifications/resources/list_changed" => on(filter.resources_list_changed),
            "notifications/resources/updated" => {
                let uri = self.params.get("uri").and_then(Value::as_str);
                filter
                    .resource_subscriptions
                    .as_ref()
                    .is_some_and(|uris| uri.is_some_and(|u| uris.iter().any(|s| s == u)))
            }
            "notifications/tasks/status" => {
                let task = self.params.get("taskId").and_then(Value::as_str);
                filter
                    .tasks
                    .as_ref()
                    .is_some_and(|t| task.is_some_and(|id| t.task_ids.iter().any(|s| s == id)))
            }
            _ => true,
        }
    }
}

impl ClientSession {
    /// Open a 2026-07-28 listen stream: a `subscriptions/listen` request, pending until the
    /// server tears the stream down (its answer) or [`Self::cancel`] ends it. Legacy sessions
    /// have no such request: they subscribe per resource and hear the rest unasked.
    pub fn listen(&mut self, filter: &SubscriptionFilter) -> Result<Outgoing, ClientError> {
        if !self.version.is_some_and(|v| v.is_modern()) {
            return Err(ClientError::Malformed(
                "subscriptions/listen needs 2026-07-28; legacy sessions subscribe per resource"
                    .into(),
            ));
        }
        let notifications = serde_json::to_value(filter)
            .map_err(|e| ClientError::Malformed(format!("filter: {e}")))?;
        self.call(
            "subscriptions/listen",
            json!({ "notifications": notifications }),
        )
    }

    /// `notifications/cancelled` for the request `id` (a call given up on, or a listen stream
    /// to end); the request is forgotten, so a late answer to it is ignored.
    pub fn cancel(&mut self, id: &RequestId, reason: Option<&str>) -> Outgoing {
        self.forget(id);
        let mut params = Map::new();
        params.insert("requestId".into(), id.to_value());
        if let Some(reason) = reason {
            params.insert("reason".into(), reason.into());
        }
        self.notification(CANCELLED, &Value::Object(params))
    }

    /// A fresh progress token, and `params` with it under `_meta.progressToken` (the caller's
    /// other `_meta` keys kept). `params` must be an object or null.
    pub fn with_progress_token(&mut self, params: Value) -> Result<(Value, Value), ClientError> {
        let mut params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(ClientError::Malformed("params must be an object".into())),
        };
        let token = Value::String(format!("progress-{}", self.ids.next_id().as_json()));
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Value::Object(meta) = meta {
            meta.insert("progressToken".into(), token.clone());
        }
        Ok((Value::Object(params), token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Answer, ClientHandler};
    use crate::client::{ClientConfig, DefaultHandler, Era, HandshakeStep};
    use crate::jsonrpc::{parse, Message, Parsed};
    use crate::revision::ProtocolVersion;
    use crate::types::Implementation;

    fn notice(text: &str) -> Notice {
        match parse(text.as_bytes()) {
            Parsed::Single(Ok(Message::Notification(n))) => Notice::from_notification(&n),
            other => panic!("not a notification: {other:?}"),
        }
    }

    fn session(version: ProtocolVersion) -> ClientSession {
        let mut s = ClientSession::new(ClientConfig {
            client_info: Implementation {
                name: "t".into(),
                version: "1".into(),
                title: None,
            },
            era: Era::Fixed(version),
            capabilities: DefaultHandler.capabilities(),
        });
        let _ = s.handshake();
        let result = if version.is_modern() {
            json!({"supportedVersions": [version.as_str()], "capabilities": {}})
        } else {
            json!({"protocolVersion": version.as_str(), "capabilities": {}})
        };
        assert!(matches!(
            s.on_handshake(Answer::Result(result)),
            Ok(HandshakeStep::Ready { .. })
        ));
        s
    }

    #[test]
    fn legacy_notices_are_filtered_by_what_was_asked() {
        let filter = SubscriptionFilter {
            tools_list_changed: Some(true),
            resource_subscriptions: Some(vec!["a://x".into()]),
            ..SubscriptionFilter::default()
        };
        let tools = notice(r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#);
        let prompts = notice(r#"{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}"#);
        let x = notice(
            r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"a://x"}}"#,
        );
        let y = notice(
            r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"a://y"}}"#,
        );
        let log = notice(
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":1}}"#,
        );
        assert!(tools.wanted_by(&filter));
        assert!(!prompts.wanted_by(&filter));
        assert!(x.wanted_by(&filter));
        assert!(!y.wanted_by(&filter));
        assert!(log.wanted_by(&filter));
        let tagged = notice(
            r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"a://x","_meta":{"io.modelcontextprotocol/subscriptionId":7}}}"#,
        );
        assert_eq!(tagged.subscription(), Some(RequestId::number(7)));
        assert_eq!(x.subscription(), None);
    }

    #[test]
    fn listen_needs_the_modern_era_and_cancel_forgets_the_request() {
        let mut legacy = session(ProtocolVersion::V2025_11_25);
        assert!(legacy.listen(&SubscriptionFilter::default()).is_err());
        let mut modern = session(ProtocolVersion::V2026_07_28);
        let filter = SubscriptionFilter {
            prompts_list_changed: Some(true),
            ..SubscriptionFilter::default()
        };
        let out = modern.listen(&filter).unwrap_or_else(|e| panic!("{e}"));
        let body: Value = serde_json::from_slice(&out.body).unwrap_or_default();
        assert_eq!(body["method"], "subscriptions/listen");
        assert_eq!(
            body["params"]["notifications"],
            json!({"promptsListChanged": true})
        );
        assert_eq!(
            body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        let id = out.id.clone().unwrap_or_else(|| panic!("a request"));
        assert_eq!(modern.pending_calls(), 1);
        let cancel = modern.cancel(&id, Some("done"));
        assert_eq!(modern.pending_calls(), 0);
        let body: Value = serde_json::from_slice(&cancel.body).unwrap_or_default();
        assert_eq!(body["method"], CANCELLED);
        assert_eq!(body["params"]["requestId"], id.to_value());
        assert_eq!(body["params"]["reason"], "done");
    }

    #[test]
    fn progress_tokens_are_fresh_and_keep_the_callers_meta() {
        let mut s = session(ProtocolVersion::V2025_11_25);
        let (a, token_a) = s
            .with_progress_token(json!({"name": "t", "_meta": {"k": 1}}))
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, token_b) = s
            .with_progress_token(Value::Null)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(token_a, token_b);
        assert_eq!(a["_meta"], json!({"k": 1, "progressToken": token_a}));
        assert!(s.with_progress_token(json!([1])).is_err());
        let p = notice(&format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{token_a},"progress":1}}}}"#
        ));
        assert_eq!(p.progress_token(), Some(&token_a));
    }
}
