//! `tools/call`: the tool's existence and argument schema are checked, whether the call may or
//! must run as a task is decided, and the handler's result is shaped for the request's revision.
//! Running the call is [`McpService::spawn_call`]'s job.

use super::calls::{answer, call_handler, TaskMode};
use super::errors::{failure, missing_tasks_extension};
use super::reply::{Serialised, Sink};
use super::{Call, McpService};
use crate::sdk::HandlerError;
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::downgrade;
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::{
    CallToolParams, CallToolResult, ResultEnvelope, TaskSupport, TASKS_EXTENSION,
};
use serde::Serialize;
use serde_json::Value;
use std::rc::Rc;

/// A tool's result in its era's envelope, serialised straight into the answer.
#[derive(Serialize)]
struct Enveloped {
    #[serde(flatten)]
    inner: CallToolResult,
    #[serde(flatten)]
    envelope: ResultEnvelope,
}

/// What a tool call answers: its result, or an `input_required` answer already serialised.
#[derive(Serialize)]
#[serde(untagged)]
enum ToolAnswer {
    Done(Enveloped),
    Asking(Serialised),
}

impl McpService {
    pub(super) fn call_tool(self: &Rc<Self>, sink: &Sink, call: Call, p: CallToolParams) {
        let registry = self.registry();
        let Some(entry) = registry.tool(&p.name) else {
            return sink.error(
                Some(&call.id),
                &ErrorObject::invalid_params(format!("Unknown tool: {}", p.name)),
            );
        };
        let args = Value::Object(p.arguments.unwrap_or_default());
        // `is_valid` stops early and builds no errors: the common case pays for nothing else.
        let problems: Vec<String> = if entry.validator.is_valid(&args) {
            Vec::new()
        } else {
            entry
                .validator
                .iter_errors(&args)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect()
        };
        let as_result = call.version.validation_errors_as_tool_results();
        if !problems.is_empty() {
            let text = format!(
                "Invalid arguments for tool {}: {}",
                p.name,
                problems.join("; ")
            );
            if as_result {
                let envelope = self.shape.envelope(&call.era, false);
                let result = shaped(envelope, call.version, CallToolResult::error(text));
                return sink.result(&call.id, &result);
            }
            return sink.error(Some(&call.id), &ErrorObject::invalid_params(text));
        }
        let Value::Object(args) = args else { return };
        // Tasks: the 2026-07-28 extension when this request declares it, or 2025-11-25 task
        // augmentation (`params.task`).
        let may_task = match &call.era {
            Era::Modern(m) => m.has_extension(TASKS_EXTENSION),
            Era::Legacy => call.version >= ProtocolVersion::V2025_11_25 && p.task.is_some(),
        };
        let legacy = call.era.modern().is_none();
        match entry.task_support {
            TaskSupport::Forbidden
                if legacy && p.task.is_some() && call.version >= ProtocolVersion::V2025_11_25 =>
            {
                let e = ErrorObject::method_not_found(&format!(
                    "tools/call with a task: tool {} does not run as a task",
                    p.name
                ));
                return sink.error(Some(&call.id), &e);
            }
            TaskSupport::Required if !may_task => {
                let e = if legacy {
                    ErrorObject::method_not_found(&format!(
                        "tools/call without a task: tool {} only runs as a task",
                        p.name
                    ))
                } else {
                    missing_tasks_extension(format!(
                        "tool {} only runs as a task: declare the {TASKS_EXTENSION} extension",
                        p.name
                    ))
                };
                return sink.error(Some(&call.id), &e);
            }
            _ => {}
        }
        let task_mode = (entry.task_support != TaskSupport::Forbidden && may_task)
            .then_some(TaskMode { legacy });
        let auto_task = task_mode.is_some() && !entry.task_deferred;
        let version = call.version;
        let envelope = self.shape.envelope(&call.era, false);
        let Some(round) = self.round(
            sink,
            &call,
            ("tools/call", &p.name),
            p.input_responses,
            p.request_state,
        ) else {
            return;
        };
        let asking = self.asking(sink, &call.era, "tools/call", p.name);
        let handler = &entry.handler;
        self.spawn_call(sink, call, p.meta.as_ref(), round, task_mode, move |ctx| {
            let for_task = auto_task.then(|| ctx.clone());
            // Called here, borrowed from this shard's copy of the registry: only its future
            // moves into the call's task, and the handler's `Arc` (one every shard shares) is
            // never cloned on the way.
            let called = call_handler(|| handler(ctx, args));
            async move {
                if let Some(ctx) = for_task {
                    if let Err(e) = ctx.become_task() {
                        return failure(e, version, &asking)
                            .map(|b| ToolAnswer::Asking(Serialised(b)));
                    }
                }
                let result = match answer(called).await {
                    Ok(r) => r,
                    Err(HandlerError::Failed(msg)) => CallToolResult::error(msg),
                    Err(HandlerError::InvalidParams(msg))
                        if version.validation_errors_as_tool_results() =>
                    {
                        CallToolResult::error(format!("Invalid arguments: {msg}"))
                    }
                    Err(e) => {
                        return failure(e, version, &asking)
                            .map(|b| ToolAnswer::Asking(Serialised(b)))
                    }
                };
                Ok(ToolAnswer::Done(shaped(envelope, version, result)))
            }
        });
    }
}

/// A tool's result without what `version` does not know, in the era's envelope.
fn shaped(
    envelope: ResultEnvelope,
    version: ProtocolVersion,
    mut result: CallToolResult,
) -> Enveloped {
    downgrade::tool_result(&mut result, version);
    Enveloped {
        inner: result,
        envelope,
    }
}
