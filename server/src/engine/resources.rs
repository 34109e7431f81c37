//! `resources/read`: the URI is matched against the registered resources and templates and the
//! reader runs as a call; an empty or missing result is "Resource not found" with the code of the
//! request's revision. Running the call is [`McpService::spawn_call`]'s job.

use super::calls::{answer, call_handler};
use super::errors::failure;
use super::reply::{to_bytes, Serialised, Sink};
use super::{Call, McpService};
use crate::sdk::HandlerError;
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::{ReadResourceParams, ReadResourceResult};
use serde_json::json;
use std::rc::Rc;

impl McpService {
    pub(super) fn read_resource(self: &Rc<Self>, sink: &Sink, call: Call, p: ReadResourceParams) {
        let not_found = |version: ProtocolVersion, uri: &str| {
            ErrorObject::new(version.resource_not_found_code(), "Resource not found")
                .with_data(json!({ "uri": uri }))
        };
        let registry = self.registry();
        let Some((read, vars)) = registry.reader(&p.uri) else {
            return sink.error(Some(&call.id), &not_found(call.version, &p.uri));
        };
        // Results of a multi round-trip retry must not be cached.
        let envelope = self.shape.envelope(&call.era, p.input_responses.is_none());
        let Some(round) = self.round(
            sink,
            &call,
            ("resources/read", &p.uri),
            p.input_responses,
            p.request_state,
        ) else {
            return;
        };
        let version = call.version;
        let uri = p.uri;
        let asking = self.asking(sink, &call.era, "resources/read", uri.clone());
        self.spawn_call(sink, call, p.meta.as_ref(), round, None, move |ctx| {
            // Borrowed from this shard's copy of the registry (no shared `Arc` is cloned).
            let called = call_handler(|| read(ctx, uri.clone(), vars));
            async move {
                match answer(called).await {
                    Ok(contents) if contents.is_empty() => Err(not_found(version, &uri)),
                    Ok(contents) => Ok(Serialised(to_bytes(&ReadResourceResult {
                        contents,
                        envelope,
                    }))),
                    Err(HandlerError::NotFound(_)) => Err(not_found(version, &uri)),
                    Err(e) => failure(e, version, &asking).map(Serialised),
                }
            }
        });
    }
}
