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
