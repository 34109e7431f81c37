//! The built-in demo set served by `ringmcp serve`: a few tools, resources (one templated, one
//! subscribable), prompts with completable arguments and one skill. Also the example of the SDK in use.

use ringmcp::sdk::{
    HandlerError, PromptDef, RequestContext, ResourceDef, ServerBuilder, SkillDef, TemplateDef,
};
use ringmcp_proto::types::{
    CallToolResult, Content, GetPromptResult, LogLevel, PromptMessage, ResourceContents, Role,
    TaskSupport,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to send back.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: f64,
    /// Second addend.
    b: f64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    /// a + b
    sum: f64,
}

#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// Milliseconds to sleep (at most 600000).
    #[schemars(range(min = 0, max = 600_000))]
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct ProgressArgs {
    /// Number of steps; one progress notification each (at most 1000).
    #[schemars(range(min = 1, max = 1000))]
    steps: u32,
    /// Milliseconds between steps (default 10).
    #[serde(default)]
    delay_ms: Option<u64>,
}

#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl From<Level> for LogLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Notice => LogLevel::Notice,
            Level::Warning => LogLevel::Warning,
            Level::Error => LogLevel::Error,
            Level::Critical => LogLevel::Critical,
            Level::Alert => LogLevel::Alert,
            Level::Emergency => LogLevel::Emergency,
        }
    }
}

#[derive(Deserialize, JsonSchema)]
struct LogArgs {
    /// Severity of the message.
    level: Level,
    /// Message to log to the client.
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct ConfirmArgs {
    /// The yes/no question to put to the user.
    question: String,
}

#[derive(Deserialize, JsonSchema)]
struct ApproveArgs {
    /// What the user is asked to approve.
    action: String,
}

const COLOURS: [&str; 8] = [
    "amber", "azure", "crimson", "emerald", "indigo", "ivory", "jade", "scarlet",
];
const NAMES: [&str; 6] = ["ada", "alan", "barbara", "edsger", "grace", "linus"];

fn starting_with(options: &[&str], prefix: &str) -> Vec<String> {
    options
        .iter()
        .filter(|o| o.starts_with(prefix))
        .map(|o| (*o).to_owned())
        .collect()
}

/// The demo registry builder (call `.build()` on it, or add more first).
pub fn demo_builder() -> ServerBuilder {
    let counter = Arc::new(AtomicU64::new(0));
    let read_counter = counter.clone();
    ServerBuilder::new("ringmcp-demo", env!("CARGO_PKG_VERSION"))
        .instructions("Demo server: echo, add, sleep, progress, log, bump, confirm, approve, roots and crash tools; demo:// resources; greet and haiku prompts.")
        .tool("echo", "Returns its text argument unchanged.", |_ctx, a: EchoArgs| async move {
            Ok(CallToolResult::text(a.text))
        })
        .structured_tool("add", "Adds two numbers; structured output {sum}.", |_ctx, a: AddArgs| async move {
            Ok(Sum { sum: a.a + a.b })
        })
        .tool("sleep", "Sleeps for ms milliseconds; cancellable with notifications/cancelled.", |_ctx, a: SleepArgs| async move {
            glommio::timer::sleep(Duration::from_millis(a.ms)).await;
            Ok(CallToolResult::text(format!("slept {} ms", a.ms)))
        })
        .tool("progress", "Counts to steps, sending one progress notification per step.", |ctx: RequestContext, a: ProgressArgs| async move {
            let delay = Duration::from_millis(a.delay_ms.unwrap_or(10));
            for step in 1..=a.steps {
                glommio::timer::sleep(delay).await;
                ctx.progress(f64::from(step), Some(f64::from(a.steps)), Some(&format!("step {step} of {}", a.steps)));
            }
            Ok(CallToolResult::text(format!("done {} steps", a.steps)))
        })
        .tool("log", "Sends a log message to the client at the given level.", |ctx: RequestContext, a: LogArgs| async move {
            let level = LogLevel::from(a.level);
            ctx.log(level, Some("demo"), serde_json::Value::String(a.message.clone()));
            Ok(CallToolResult::text(format!("logged at {level:?}").to_lowercase()))
        })
        .tool("bump", "Increments demo://counter and notifies its subscribers on every shard.", move |ctx: RequestContext, _a: NoArgs| {
            let counter = counter.clone();
            async move {
                let value = counter.fetch_add(1, Ordering::Relaxed) + 1;
                ctx.notify_resource_updated("demo://counter");
                Ok(CallToolResult::text(value.to_string()))
            }
        })
        .tool(
            "confirm",
            "Asks the user a yes/no question through the client (elicitation); needs the elicitation capability.",
            |ctx: RequestContext, a: ConfirmArgs| async move {
                let schema = serde_json::json!({
                    "type": "object",
                    "properties": { "confirmed": { "type": "boolean", "description": "Your answer" } },
                    "required": ["confirmed"]
                });
                let answer = ctx.elicit(&a.question, schema).await?;
                let text = match answer.get("action").and_then(|v| v.as_str()) {
                    Some("accept") => match answer.pointer("/content/confirmed").and_then(|v| v.as_bool()) {
                        Some(true) => "confirmed: yes".to_owned(),
                        Some(false) => "confirmed: no".to_owned(),
                        None => return Err(HandlerError::Failed("the answer had no confirmed field".into())),
                    },
                    Some("decline") => "declined".to_owned(),
                    _ => "cancelled".to_owned(),
                };
                Ok(CallToolResult::text(text))
            },
        )
        .tool(
            "approve",
            "Asks the user to approve an action, once: on 2026-07-28 the answer counts only with the single-use requestState of this call, and a replayed retry is refused.",
            |ctx: RequestContext, a: ApproveArgs| async move {
                let schema = serde_json::json!({
                    "type": "object",
                    "properties": { "approved": { "type": "boolean" } },
                    "required": ["approved"]
                });
                let ask = ctx
                    .input_required()
                    .elicit("approval", &format!("Approve {}?", a.action), schema)
                    .state(a.action.clone())
                    .single_use();
                // On 2026-07-28 an answer is taken only with the state this tool sealed for it:
                // a retry that drops the state would escape the single-use check.
                if ctx.input_responses().is_some() && ctx.request_state() != Some(a.action.as_str()) {
                    return Err(ask.build());
                }
                let answers = ctx.ask(ask).await?;
                let approval = answers.get("approval");
                let approved = approval.and_then(|v| v.get("action")).and_then(|v| v.as_str()) == Some("accept")
                    && approval.and_then(|v| v.pointer("/content/approved")).and_then(|v| v.as_bool()) == Some(true);
                Ok(CallToolResult::text(if approved { format!("approved: {}", a.action) } else { format!("not approved: {}", a.action) }))
            },
        )
        .tool("roots", "Lists the client's roots (roots/list); needs the roots capability.", |ctx: RequestContext, _a: NoArgs| async move {
            let answer = ctx.list_roots().await?;
            let uris: Vec<&str> = answer
                .get("roots")
                .and_then(|r| r.as_array())
                .map(|roots| roots.iter().filter_map(|r| r.get("uri").and_then(|u| u.as_str())).collect())
                .unwrap_or_default();
            Ok(CallToolResult::text(if uris.is_empty() { "no roots".to_owned() } else { uris.join("\n") }))
        })
        .tool("crash", "Panics on purpose: shows that a handler panic fails only its own request.", |_ctx, _a: NoArgs| async move {
            if std::hint::black_box(true) {
                panic!("crash tool called");
            }
            Ok(CallToolResult::text("unreachable"))
        })
        .task_support("sleep", TaskSupport::Optional)
        .resource(
            ResourceDef::new("demo://readme", "readme").description("What this server is.").mime_type("text/markdown"),
            |_ctx, uri| async move {
                Ok(vec![ResourceContents::text(uri, "text/markdown", "# ringmcp demo\n\nA thread-per-core MCP server.\n")])
            },
        )
        .resource(
            ResourceDef::new("demo://counter", "counter")
                .description("A number the bump tool increments; subscribe to see updates.")
                .mime_type("text/plain")
                .subscribable(),
            move |_ctx, uri| {
                let value = read_counter.load(Ordering::Relaxed);
                async move { Ok(vec![ResourceContents::text(uri, "text/plain", value.to_string())]) }
            },
        )
        .resource_template(
            TemplateDef::new("demo://greeting/{name}", "greeting")
                .description("A greeting for anyone.")
                .mime_type("text/plain")
                .complete("name", |prefix, _| starting_with(&NAMES, prefix)),
            |_ctx, uri, vars: BTreeMap<String, String>| async move {
                let name = vars.get("name").cloned().unwrap_or_default();
                Ok(vec![ResourceContents::text(uri, "text/plain", format!("Hello, {name}!"))])
            },
        )
        .prompt(
            PromptDef::new("greet", "Greets someone by name.")
                .argument("name", "Who to greet", true)
                .argument("style", "formal or casual", false)
                .complete("name", |prefix, _| starting_with(&NAMES, prefix))
                .complete("style", |prefix, _| starting_with(&["casual", "formal"], prefix)),
            |_ctx, args| async move {
                let name = args.get("name").cloned().unwrap_or_default();
                let text = match args.get("style").map(String::as_str) {
                    Some("formal") => format!("Good day, {name}."),
                    _ => format!("Hello, {name}!"),
                };
                Ok(prompt_result("A greeting", text))
            },
        )
        .prompt(
            PromptDef::new("haiku", "Asks for a haiku about a colour.")
                .argument("colour", "A colour", true)
                .complete("colour", |prefix, _| starting_with(&COLOURS, prefix)),
            |_ctx, args| async move {
                let colour = args.get("colour").cloned().unwrap_or_default();
                if colour.is_empty() {
                    return Err(HandlerError::InvalidParams("colour must not be empty".into()));
                }
                Ok(prompt_result("A haiku request", format!("Write a haiku about the colour {colour}.")))
            },
        )
        // A skill (SEP-2640), embedded so that the binary needs no files beside it.
        .skill(
            SkillDef::new("demo-tour", include_str!("../fixtures/demo-skills/demo-tour/SKILL.md"))
                .file("examples/session.md", include_str!("../fixtures/demo-skills/demo-tour/examples/session.md")),
        )
}

fn prompt_result(description: &str, text: String) -> GetPromptResult {
    GetPromptResult {
        description: Some(description.to_owned()),
        messages: vec![PromptMessage {
            role: Role::User,
            content: Content::text(text),
        }],
        envelope: Default::default(),
    }
}
