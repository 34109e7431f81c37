//! `prompts/get`: the prompt's existence and required arguments are checked and its handler runs
//! as a call. Running the call is [`McpService::spawn_call`]'s job.

use super::calls::{answer, call_handler};
use super::errors::failure;
use super::reply::{to_bytes, Serialised, Sink};
use super::{Call, McpService};
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::GetPromptParams;
use std::rc::Rc;

impl McpService {
    pub(super) fn get_prompt(self: &Rc<Self>, sink: &Sink, call: Call, p: GetPromptParams) {
        let registry = self.registry();
        let Some(entry) = registry.prompt(&p.name) else {
            return sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!("Unknown prompt: {}", p.name)),
            );
        };
        let args = p.arguments.unwrap_or_default();
        let missing: Vec<&str> = entry
            .prompt
            .arguments
            .iter()
            .filter(|a| a.required && !args.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            let e = ErrorObject::invalid_params(format!(
                "missing required argument(s): {}",
                missing.join(", ")
            ));
            return sink.error(Some(&call.id), &e);
        }
        let get = &entry.get;
        let envelope = self.shape.envelope(&call.era, false);
        let Some(round) = self.round(
            sink,
            &call,
            ("prompts/get", &p.name),
            p.input_responses,
            p.request_state,
        ) else {
            return;
        };
        let asking = self.asking(sink, &call.era, "prompts/get", p.name);
        let version = call.version;
        self.spawn_call(sink, call, p.meta.as_ref(), round, None, move |ctx| {
            // Borrowed from this shard's copy of the registry (no shared `Arc` is cloned).
            let called = call_handler(|| get(ctx, args));
            async move {
                match answer(called).await {
                    Ok(mut result) => {
                        result.envelope = envelope;
                        Ok(Serialised(to_bytes(&result)))
                    }
                    Err(e) => failure(e, version, &asking).map(Serialised),
                }
            }
        });
    }
}
