//! Resource subscriptions: legacy `resources/subscribe` / `unsubscribe` and the 2026-07-28
//! `subscriptions/listen` stream. It records who listens on the session and the shard; sending
//! the updates themselves is the shard's job.

use super::reply::{send_once, Sink};
use super::{Call, McpService};
use crate::service::MsgKind;
use crate::store::SessionChange;
use ringmcp_proto::jsonrpc::{self, ErrorObject};
use ringmcp_proto::types::SubscriptionFilter;
use serde_json::json;

impl McpService {
    pub(super) fn subscribe(&self, sink: &Sink, call: &Call, uri: &str, on: bool) {
        let registry = self.registry();
        let known = registry
            .resource(uri)
            .map(|r| r.subscribable)
            .or_else(|| registry.reader(uri).map(|_| false));
        match known {
            None => {
                let e =
                    ErrorObject::new(call.version.resource_not_found_code(), "Resource not found")
                        .with_data(json!({ "uri": uri }));
                sink.error(Some(&call.id), &e)
            }
            Some(false) if on => sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!(
                    "resource {uri} does not support subscriptions"
                )),
            ),
            Some(_) => {
                let session = sink.session();
                if on {
                    if session.subscriptions.borrow_mut().insert(uri.to_owned()) {
                        self.shard.subscribe(uri, session);
                        session.persist(SessionChange::Subscribe(uri.to_owned()));
                    }
                } else if session.subscriptions.borrow_mut().remove(uri) {
                    session.persist(SessionChange::Unsubscribe(uri.to_owned()));
                }
                sink.result(&call.id, &json!({}))
            }
        }
    }

    pub(super) fn listen(&self, sink: &Sink, call: Call, filter: SubscriptionFilter) {
        let session = sink.session().clone();
        let registry = self.registry();
        let honoured = SubscriptionFilter {
            tools_list_changed: filter.tools_list_changed.filter(|&b| b),
            prompts_list_changed: filter.prompts_list_changed.filter(|&b| b),
            resources_list_changed: filter.resources_list_changed.filter(|&b| b),
            // Status changes of the tasks named, when tools can run as tasks.
            tasks: filter
                .tasks
                .filter(|t| !t.task_ids.is_empty() && registry.has_task_tools()),
            resource_subscriptions: filter.resource_subscriptions.map(|uris| {
                uris.into_iter()
                    .filter(|u| registry.resource(u).is_some_and(|r| r.subscribable))
                    .collect()
            }),
        };
        let params = json!({
            "_meta": { "io.modelcontextprotocol/subscriptionId": call.id.to_value() },
            "notifications": honoured,
        });
        send_once(&*sink.outlet, MsgKind::Notification, |out| {
            jsonrpc::write_notification(out, "notifications/subscriptions/acknowledged", &params)
        });
        let first = session.listens.borrow().is_empty();
        session
            .listens
            .borrow_mut()
            .push((call.id, honoured, sink.outlet.clone()));
        if first {
            self.shard.add_listener(&session);
        }
    }
}
