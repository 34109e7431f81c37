//! The conformance fixtures' set changes while it runs: the suite's diagnostic hooks
//! `test_trigger_tool_change` and `test_trigger_prompt_change` (SEP-2575 list changes) really
//! change the set, adding `test_dynamic_tool` or `test_dynamic_prompt` when it is absent and
//! taking it away when it is present, through [`ringmcp::LiveRegistry::update`]: what a program
//! serving a live set does. `test_hold_shard` blocks its shard's thread for a while, so that
//! tests can change the set while a shard is busy. This file owns those five entries; the rest
//! of the fixtures are `fixtures.rs`'s.

use ringmcp::proto::types::{CallToolResult, Content, GetPromptResult, PromptMessage, Role};
use ringmcp::{HandlerError, PromptDef, RequestContext, ServerBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct HoldArgs {
    /// Milliseconds to hold the shard (at most 5,000).
    ms: u64,
}

/// `builder` with the list-change hooks and `test_hold_shard`.
pub fn with_triggers(builder: ServerBuilder) -> ServerBuilder {
    builder
        .tool(
            "test_trigger_tool_change",
            "Adds test_dynamic_tool, or takes it away if present: the tool list changes.",
            |ctx: RequestContext, _a: NoArgs| async move {
                change(&ctx, |b| {
                    if b.has_tool("test_dynamic_tool") {
                        b.remove_tool("test_dynamic_tool")
                    } else {
                        dynamic_tool(b)
                    }
                })
            },
        )
        .tool(
            "test_hold_shard",
            "Blocks this request's shard (its whole thread) for ms milliseconds, at most 5,000: a busy shard, for tests.",
            |_ctx: RequestContext, a: HoldArgs| async move {
                let ms = a.ms.min(5_000);
                // Deliberately blocking: nothing else runs on this shard meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(CallToolResult::text(format!("held {ms} ms")))
            },
        )
        .tool(
            "test_trigger_prompt_change",
            "Adds test_dynamic_prompt, or takes it away if present: the prompt list changes.",
            |ctx: RequestContext, _a: NoArgs| async move {
                change(&ctx, |b| {
                    if b.has_prompt("test_dynamic_prompt") {
                        b.remove_prompt("test_dynamic_prompt")
                    } else {
                        dynamic_prompt(b)
                    }
                })
            },
        )
}

fn change(
    ctx: &RequestContext,
    edit: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> Result<CallToolResult, HandlerError> {
    let live = ctx
        .live_registry()
        .ok_or_else(|| HandlerError::Failed("this server's set is fixed".into()))?;
    live.update(edit)
        .map_err(|e| HandlerError::Failed(format!("the set did not change: {e}")))?;
    Ok(CallToolResult::text("Mutation triggered"))
}

fn dynamic_tool(builder: ServerBuilder) -> ServerBuilder {
    builder.tool(
        "test_dynamic_tool",
        "Comes and goes with test_trigger_tool_change.",
        |_ctx: RequestContext, _a: NoArgs| async move { Ok(CallToolResult::text("still here")) },
    )
}

fn dynamic_prompt(builder: ServerBuilder) -> ServerBuilder {
    builder.prompt(
        PromptDef::new(
            "test_dynamic_prompt",
            "Comes and goes with test_trigger_prompt_change.",
        ),
        |_ctx: RequestContext, _args: BTreeMap<String, String>| async move {
            Ok(GetPromptResult {
                description: Some("A prompt that comes and goes".into()),
                messages: vec![PromptMessage {
                    role: Role::User,
                    content: Content::text("still here"),
                }],
                envelope: Default::default(),
            })
        },
    )
}
