//! `--fixtures conformance`: the tools, resources and prompts the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) expects of a server under test, modelled on the suite's own
//! everything-server. Served instead of the demo set, so that `tests/conformance/run.sh` can check
//! ringmcp against the suite. Also a broad example of the SDK: every content type, progress,
//! logging, sampling, elicitation, and 2026-07-28 multi round-trip requests with sealed state.

mod skills;

use ringmcp::sdk::{
    HandlerError, PromptDef, RequestContext, ResourceDef, ServerBuilder, TemplateDef,
};
use ringmcp_proto::types::{
    CallToolResult, Content, GetPromptResult, LogLevel, PromptMessage, ResourceContents, Role,
    TaskSupport,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// A 1x1 PNG.
const IMG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A tiny WAV file.
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

fn empty_schema() -> Value {
    json!({ "type": "object", "properties": {} })
}

fn text(t: impl Into<String>) -> Result<CallToolResult, HandlerError> {
    Ok(CallToolResult::text(t))
}

fn image() -> Content {
    Content::Image {
        data: IMG.into(),
        mime_type: "image/png".into(),
        annotations: None,
    }
}

fn embedded(uri: &str, mime: &str, body: &str) -> Content {
    Content::Resource {
        resource: ResourceContents::text(uri, mime, body),
        annotations: None,
    }
}

fn user(content: Content) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content,
    }
}

fn prompt(description: &str, messages: Vec<PromptMessage>) -> GetPromptResult {
    GetPromptResult {
        description: Some(description.into()),
        messages,
        envelope: Default::default(),
    }
}

/// An elicitation answer's `content.<field>` as a string, when the user accepted.
fn accepted_str<'a>(answer: Option<&'a Value>, field: &str) -> Option<&'a str> {
    let a = answer?;
    (a.get("action")?.as_str()? == "accept").then_some(())?;
    a.get("content")?.get(field)?.as_str()
}

fn name_schema() -> Value {
    json!({ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] })
}

fn summary(answer: &Value) -> String {
    format!(
        "action={}, content={}",
        answer
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or("unknown"),
        answer.get("content").cloned().unwrap_or(Value::Null)
    )
}

/// The conformance fixture registry builder.
pub fn conformance_builder() -> ServerBuilder {
    let b = ServerBuilder::new("ringmcp-conformance", env!("CARGO_PKG_VERSION"))
        .instructions("Fixtures for the MCP conformance suite.");
    let b = content_tools(b);
    let b = legacy_tools(b);
    let b = modern_tools(b);
    let b = input_required_tools(b);
    let b = task_tools(b);
    let b = resources(b);
    let b = prompts(b);
    skills::skills(b)
}

fn content_tools(b: ServerBuilder) -> ServerBuilder {
    b.json_tool("test_simple_text", "Returns simple text content", empty_schema(), |_c, _a| async {
        text("This is a simple text response for testing.")
    })
    .json_tool("test_image_content", "Returns image content", empty_schema(), |_c, _a| async {
        Ok(CallToolResult { content: vec![image()], ..Default::default() })
    })
    .json_tool("test_audio_content", "Returns audio content", empty_schema(), |_c, _a| async {
        let audio = Content::Audio { data: WAV.into(), mime_type: "audio/wav".into(), annotations: None };
        Ok(CallToolResult { content: vec![audio], ..Default::default() })
    })
    .json_tool("test_embedded_resource", "Returns an embedded resource", empty_schema(), |_c, _a| async {
        let content = vec![embedded("test://embedded-resource", "text/plain", "This is an embedded resource content.")];
        Ok(CallToolResult { content, ..Default::default() })
    })
    .json_tool("test_multiple_content_types", "Returns text, image and resource content", empty_schema(), |_c, _a| async {
        let content = vec![
            Content::text("Multiple content types test:"),
            image(),
            embedded("test://mixed-content-resource", "application/json", r#"{"test":"data","value":123}"#),
        ];
        Ok(CallToolResult { content, ..Default::default() })
    })
    .json_tool("test_error_handling", "Returns a tool error result", empty_schema(), |_c, _a| async {
        Ok(CallToolResult::error("This tool intentionally returns an error for testing"))
    })
    .json_tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100", empty_schema(), |ctx: RequestContext, _a| async move {
        for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
            ctx.progress(step, Some(100.0), Some(&format!("Completed step {step} of 100")));
        }
        let token = match ctx.progress_token() {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "no progress token".into(),
        };
        text(token)
    })
    .json_tool(
        "json_schema_2020_12_tool",
        "A tool whose input schema uses JSON Schema 2020-12 keywords",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": { "address": { "$anchor": "addressDef", "type": "object", "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" },
                "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                "phone": { "type": "string" },
                "email": { "type": "string" }
            },
            "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
            "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
            "then": { "required": ["phone"] },
            "else": { "required": ["email"] },
            "additionalProperties": false
        }),
        |_c, args| async move { text(format!("JSON Schema 2020-12 tool called with: {}", Value::Object(args))) },
    )
}

/// Tools that talk back to the client within one request (session-based revisions).
fn legacy_tools(b: ServerBuilder) -> ServerBuilder {
    b.json_tool(
        "test_custom_header",
        "Echoes a region that clients also send in the Mcp-Param-Region header (SEP-2243)",
        json!({ "type": "object", "properties": { "region": { "type": "string", "description": "Region", "x-mcp-header": "Region" } }, "required": ["region"] }),
        |_c, args| async move { text(format!("region: {}", args.get("region").and_then(Value::as_str).unwrap_or_default())) },
    )
    .json_tool("test_tool_with_logging", "Logs three info messages while it runs", empty_schema(), |ctx: RequestContext, _a| async move {
        for (i, msg) in ["Tool execution started", "Tool processing data", "Tool execution completed"].into_iter().enumerate() {
            if i > 0 {
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
            ctx.log(LogLevel::Info, None, Value::String(msg.into()));
        }
        text("Tool with logging executed successfully")
    })
    .json_tool(
        "test_sampling",
        "Asks the client's model to answer a prompt",
        json!({ "type": "object", "properties": { "prompt": { "type": "string", "description": "The prompt" } }, "required": ["prompt"] }),
        |ctx: RequestContext, args| async move {
            let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or_default().to_owned();
            let params = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }], "maxTokens": 100 });
            match ctx.create_message(params).await {
                Ok(r) => text(format!("LLM response: {}", r.pointer("/content/text").and_then(Value::as_str).unwrap_or_default())),
                Err(HandlerError::Failed(e)) => text(format!("Sampling not supported or error: {e}")),
                Err(e) => Err(e),
            }
        },
    )
    .json_tool(
        "test_elicitation",
        "Asks the user for information",
        json!({ "type": "object", "properties": { "message": { "type": "string", "description": "What to ask" } }, "required": ["message"] }),
        |ctx: RequestContext, args| async move {
            let message = args.get("message").and_then(Value::as_str).unwrap_or("Please provide your information").to_owned();
            let schema = json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                },
                "required": ["username", "email"]
            });
            let answer = ctx.elicit(&message, schema).await?;
            text(format!("User response: {}", summary(&answer)))
        },
    )
    .json_tool("test_elicitation_sep1034_defaults", "Elicits a form whose fields have defaults", empty_schema(), |ctx: RequestContext, _a| async move {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "User name", "default": "John Doe" },
                "age": { "type": "integer", "description": "User age", "default": 30 },
                "score": { "type": "number", "description": "User score", "default": 95.5 },
                "status": { "type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active" },
                "verified": { "type": "boolean", "description": "Verification status", "default": true }
            },
            "required": []
        });
        let answer = ctx.elicit("Please review and update the form fields with defaults", schema).await?;
        text(format!("Elicitation completed: {}", summary(&answer)))
    })
    .json_tool("test_elicitation_sep1330_enums", "Elicits a form with every kind of enum", empty_schema(), |ctx: RequestContext, _a| async move {
        let schema = json!({
            "type": "object",
            "required": [],
            "properties": {
                "untitledSingle": { "type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"] },
                "titledSingle": { "type": "string", "description": "Select one option with titles", "oneOf": [
                    { "const": "value1", "title": "First Option" },
                    { "const": "value2", "title": "Second Option" },
                    { "const": "value3", "title": "Third Option" }
                ] },
                "legacyEnum": { "type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                "untitledMulti": { "type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3, "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                "titledMulti": { "type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3, "items": { "anyOf": [
                    { "const": "value1", "title": "First Choice" },
                    { "const": "value2", "title": "Second Choice" },
                    { "const": "value3", "title": "Third Choice" }
                ] } }
            }
        });
        let answer = ctx.elicit("Please select options from the enum fields", schema).await?;
        text(format!("Elicitation completed: {}", summary(&answer)))
    })
}

/// 2026-07-28 diagnostics: capability errors, no requests on a response stream, no logs without
/// a log level.
fn modern_tools(b: ServerBuilder) -> ServerBuilder {
    b.json_tool("test_missing_capability", "Needs the sampling client capability", empty_schema(), |ctx: RequestContext, _a| async move {
        let params = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": "ping" } }], "maxTokens": 10 });
        ctx.create_message(params).await?;
        text("Success")
    })
    .json_tool("test_streaming_elicitation", "Streams progress, never a request", empty_schema(), |ctx: RequestContext, _a| async move {
        ctx.progress(1.0, Some(1.0), Some("streaming"));
        text("Streaming complete")
    })
    .json_tool("test_logging_tool", "Logs at info level (sent only if the request set a log level)", empty_schema(), |ctx: RequestContext, _a| async move {
        ctx.log(LogLevel::Info, None, Value::String("Logging tool ran".into()));
        text("Logging evaluated")
    })
}

fn input_required_tools(b: ServerBuilder) -> ServerBuilder {
    b.json_tool("test_input_required_result_elicitation", "MRTR: asks for the user's name", empty_schema(), |ctx: RequestContext, _a| async move {
        match accepted_str(ctx.input_response("user_name"), "name") {
            Some(name) => text(format!("Hello, {name}!")),
            None => Err(ctx.input_required().elicit("user_name", "What is your name?", name_schema()).build()),
        }
    })
    .json_tool("test_input_required_result_sampling", "MRTR: asks the client's model a question", empty_schema(), |ctx: RequestContext, _a| async move {
        match ctx.input_response("sample_request").and_then(|a| a.pointer("/content/text")).and_then(Value::as_str) {
            Some(answer) => text(format!("Sampling result: {answer}")),
            None => {
                let params = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": "What is the capital of France?" } }], "maxTokens": 100 });
                Err(ctx.input_required().create_message("sample_request", params).build())
            }
        }
    })
    .json_tool("test_input_required_result_list_roots", "MRTR: asks for the client's roots", empty_schema(), |ctx: RequestContext, _a| async move {
        match ctx.input_response("roots_request").and_then(|a| a.get("roots")).and_then(Value::as_array) {
            Some(roots) => text(format!("Found {} root(s)", roots.len())),
            None => Err(ctx.input_required().list_roots("roots_request").build()),
        }
    })
    .json_tool("test_input_required_result_request_state", "MRTR: carries state between rounds", empty_schema(), |ctx: RequestContext, _a| async move {
        confirm_with_state(&ctx, "state-ok: requestState validated")
    })
    .json_tool("test_input_required_result_tampered_state", "MRTR: state the server integrity-checks", empty_schema(), |ctx: RequestContext, _a| async move {
        confirm_with_state(&ctx, "integrity-ok: state verified")
    })
    .json_tool("test_input_required_result_multiple_inputs", "MRTR: three inputs at once", empty_schema(), |ctx: RequestContext, _a| async move {
        let name = accepted_str(ctx.input_response("user_name"), "name").map(str::to_owned);
        let greeting = ctx.input_response("greeting").and_then(|a| a.pointer("/content/text")).and_then(Value::as_str).map(str::to_owned);
        let roots = ctx.input_response("client_roots").and_then(|a| a.get("roots")).and_then(Value::as_array).map(Vec::len);
        if let (Some(name), Some(greeting), Some(roots)) = (&name, &greeting, roots) {
            if ctx.request_state() == Some("collecting") {
                return text(format!("Name: {name}; Greeting: {greeting}; Roots: {roots}"));
            }
        }
        let mut ask = ctx.input_required().state("collecting");
        if name.is_none() {
            ask = ask.elicit("user_name", "What is your name?", name_schema());
        }
        if greeting.is_none() {
            let params = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": "Generate a greeting" } }], "maxTokens": 50 });
            ask = ask.create_message("greeting", params);
        }
        if roots.is_none() {
            ask = ask.list_roots("client_roots");
        }
        Err(ask.build())
    })
    .json_tool("test_input_required_result_multi_round", "MRTR: two rounds of questions", empty_schema(), |ctx: RequestContext, _a| async move {
        let state = ctx.request_state().unwrap_or_default().to_owned();
        if let Some(name) = state.strip_prefix("round-2:") {
            if let Some(color) = accepted_str(ctx.input_response("step2"), "color") {
                return text(format!("Multi-round complete for {name} who likes {color}"));
            }
            let schema = json!({ "type": "object", "properties": { "color": { "type": "string" } }, "required": ["color"] });
            return Err(ctx.input_required().elicit("step2", "Step 2: What is your favorite color?", schema).state(state).build());
        }
        if state == "round-1" {
            if let Some(name) = accepted_str(ctx.input_response("step1"), "name") {
                let schema = json!({ "type": "object", "properties": { "color": { "type": "string" } }, "required": ["color"] });
                return Err(ctx
                    .input_required()
                    .elicit("step2", "Step 2: What is your favorite color?", schema)
                    .state(format!("round-2:{name}"))
                    .build());
            }
        }
        Err(ctx.input_required().elicit("step1", "Step 1: What is your name?", name_schema()).state("round-1").build())
    })
    .json_tool("test_input_required_result_capabilities", "MRTR: asks only for what the client declared", empty_schema(), |ctx: RequestContext, _a| async move {
        if let Some(responses) = ctx.input_responses().filter(|r| !r.is_empty()) {
            let keys: Vec<&str> = responses.keys().map(String::as_str).collect();
            return text(format!("capabilities-ok: received {}", keys.join(", ")));
        }
        let mut ask = ctx.input_required().state("capabilities");
        let mut any = false;
        if ctx.has_client_capability("elicitation") {
            let schema = json!({ "type": "object", "properties": { "value": { "type": "string" } }, "required": ["value"] });
            ask = ask.elicit("elicit_input", "Provide a value", schema);
            any = true;
        }
        if ctx.has_client_capability("sampling") {
            let params = json!({ "messages": [{ "role": "user", "content": { "type": "text", "text": "Sample request" } }], "maxTokens": 50 });
            ask = ask.create_message("sample_input", params);
            any = true;
        }
        if !any {
            return text("No supported capabilities declared");
        }
        Err(ask.build())
    })
}

/// The tools of the tasks extension scenarios (`io.modelcontextprotocol/tasks`).
fn task_tools(b: ServerBuilder) -> ServerBuilder {
    b.json_tool(
        "greet",
        "Greets someone (never a task)",
        json!({ "type": "object", "properties": { "name": { "type": "string", "description": "Name to greet" } }, "required": ["name"] }),
        |_c, args| async move { text(format!("Hello, {}!", args.get("name").and_then(Value::as_str).unwrap_or("world"))) },
    )
    .json_tool(
        "slow_compute",
        "Sleeps for some seconds; a task when the client supports tasks",
        json!({ "type": "object", "properties": {
            "seconds": { "type": "integer", "description": "How many seconds to compute (sleep)", "default": 3 },
            "label": { "type": "string", "description": "A label for the computation", "default": "default" }
        } }),
        |_c, args| async move {
            let seconds = args.get("seconds").and_then(Value::as_i64).unwrap_or(3);
            let label = args.get("label").and_then(Value::as_str).unwrap_or("default").to_owned();
            if seconds <= 0 {
                return text(format!("Computation \"{label}\" completed instantly. Result: 42."));
            }
            glommio::timer::sleep(Duration::from_secs(seconds.min(600) as u64)).await;
            text(format!("Computation \"{label}\" completed after {seconds} seconds. Result: 42."))
        },
    )
    .json_tool("failing_job", "A task that ends with a tool error", empty_schema(), |_c, _a| async move {
        glommio::timer::sleep(Duration::from_millis(500)).await;
        Err(HandlerError::Failed("simulated failure: job crashed".into()))
    })
    .json_tool("protocol_error_job", "A task that fails with a protocol error", empty_schema(), |_c, _a| async move {
        glommio::timer::sleep(Duration::from_millis(300)).await;
        Err(HandlerError::Internal("simulated protocol error: backend unavailable".into()))
    })
    .json_tool(
        "confirm_delete",
        "A task that asks for confirmation before deleting a file",
        json!({ "type": "object", "properties": { "filename": { "type": "string", "default": "important.txt" } } }),
        |ctx: RequestContext, args| async move {
            let file = args.get("filename").and_then(Value::as_str).unwrap_or("important.txt").to_owned();
            let schema = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } }, "required": ["confirm"] });
            let answer = ctx.elicit(&format!("Delete '{file}'?"), schema).await?;
            let confirmed = answer.get("action").and_then(Value::as_str) == Some("accept")
                && answer.pointer("/content/confirm").and_then(Value::as_bool) == Some(true);
            text(if confirmed { format!("deleted '{file}'") } else { format!("kept '{file}'") })
        },
    )
    .json_tool("multi_input", "A task that asks two questions at once", empty_schema(), |ctx: RequestContext, _a| async move {
        let name_schema = json!({ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] });
        let confirm_schema = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } }, "required": ["confirm"] });
        let answers = ctx
            .ask(ctx.input_required().elicit("elicit-1", "Enter your name:", name_schema).elicit("elicit-2", "Confirm action?", confirm_schema))
            .await?;
        let name = answers.get("elicit-1").and_then(|a| a.pointer("/content/name")).and_then(Value::as_str).unwrap_or_default();
        let confirmed = answers.get("elicit-2").and_then(|a| a.pointer("/content/confirm")).and_then(Value::as_bool).unwrap_or(false);
        text(format!("name=\"{name}\" confirmed={confirmed}"))
    })
    .json_tool("test_tool_with_task", "Asks for a name synchronously, then computes in a task", json!({ "type": "object" }), |ctx: RequestContext, _a| async move {
        let Some(name) = accepted_str(ctx.input_response("user_name"), "name").map(str::to_owned) else {
            return Err(ctx.input_required().elicit("user_name", "What is your name?", name_schema()).build());
        };
        ctx.become_task()?;
        glommio::timer::sleep(Duration::from_millis(50)).await;
        text(format!("Hello, {name}! (computed in task)"))
    })
    .task_support("slow_compute", TaskSupport::Optional)
    .task_support("failing_job", TaskSupport::Required)
    .task_support("protocol_error_job", TaskSupport::Required)
    .task_support("confirm_delete", TaskSupport::Required)
    .task_support("multi_input", TaskSupport::Required)
    .deferred_task("test_tool_with_task")
}

fn confirm_with_state(ctx: &RequestContext, done: &str) -> Result<CallToolResult, HandlerError> {
    let confirmed = ctx
        .input_response("confirm")
        .filter(|a| a.get("action").and_then(Value::as_str) == Some("accept"))
        .and_then(|a| a.pointer("/content/ok"))
        .and_then(Value::as_bool);
    if ctx.request_state() == Some("awaiting-confirmation") && confirmed == Some(true) {
        return text(done);
    }
    let schema = json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] });
    Err(ctx
        .input_required()
        .elicit("confirm", "Please confirm", schema)
        .state("awaiting-confirmation")
        .build())
}

fn resources(b: ServerBuilder) -> ServerBuilder {
    b.resource(
        ResourceDef::new("test://static-text", "static-text")
            .description("A static text resource for testing")
            .mime_type("text/plain"),
        |_c, uri| async move {
            Ok(vec![ResourceContents::text(
                uri,
                "text/plain",
                "This is the content of the static text resource.",
            )])
        },
    )
    .resource(
        ResourceDef::new("test://static-binary", "static-binary")
            .description("A static binary resource (a PNG)")
            .mime_type("image/png"),
        |_c, uri| async move {
            Ok(vec![ResourceContents {
                uri,
                mime_type: Some("image/png".into()),
                text: None,
                blob: Some(IMG.into()),
                meta: None,
            }])
        },
    )
    .resource(
        ResourceDef::new("test://watched-resource", "watched-resource")
            .description("A resource clients can subscribe to")
            .mime_type("text/plain")
            .subscribable(),
        |_c, uri| async move {
            Ok(vec![ResourceContents::text(
                uri,
                "text/plain",
                "Watched resource content",
            )])
        },
    )
    .resource_template(
        TemplateDef::new("test://template/{id}/data", "template")
            .description("A resource template with an id")
            .mime_type("application/json")
            .complete("id", |prefix, _| {
                ["123", "456", "789"]
                    .iter()
                    .filter(|v| v.starts_with(prefix))
                    .map(|v| (*v).to_owned())
                    .collect()
            }),
        |_c, uri, vars: BTreeMap<String, String>| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let body =
                json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                    .to_string();
            Ok(vec![ResourceContents::text(uri, "application/json", body)])
        },
    )
}

fn prompts(b: ServerBuilder) -> ServerBuilder {
    b.prompt(PromptDef::new("test_simple_prompt", "A simple prompt without arguments"), |_c, _a| async {
        Ok(prompt("A simple prompt", vec![user(Content::text("This is a simple prompt for testing."))]))
    })
    .prompt(
        PromptDef::new("test_prompt_with_arguments", "A prompt with required arguments")
            .argument("arg1", "First test argument", true)
            .argument("arg2", "Second test argument", true)
            .complete("arg1", |prefix, _| ["test", "testValue1"].iter().filter(|v| v.starts_with(prefix)).map(|v| (*v).to_owned()).collect())
            .complete("arg2", |prefix, _| ["test", "testValue2"].iter().filter(|v| v.starts_with(prefix)).map(|v| (*v).to_owned()).collect()),
        |_c, args: BTreeMap<String, String>| async move {
            let (a1, a2) = (args.get("arg1").cloned().unwrap_or_default(), args.get("arg2").cloned().unwrap_or_default());
            Ok(prompt("A prompt with arguments", vec![user(Content::text(format!("Prompt with arguments: arg1='{a1}', arg2='{a2}'")))]))
        },
    )
    .prompt(
        PromptDef::new("test_prompt_with_embedded_resource", "A prompt that includes an embedded resource")
            .argument("resourceUri", "URI of the resource to embed", true),
        |_c, args: BTreeMap<String, String>| async move {
            let uri = args.get("resourceUri").cloned().unwrap_or_default();
            Ok(prompt(
                "A prompt with an embedded resource",
                vec![
                    user(embedded(&uri, "text/plain", "Embedded resource content for testing.")),
                    user(Content::text("Please process the embedded resource above.")),
                ],
            ))
        },
    )
    .prompt(PromptDef::new("test_prompt_with_image", "A prompt that includes image content"), |_c, _a| async {
        Ok(prompt("A prompt with an image", vec![user(image()), user(Content::text("Please analyze the image above."))]))
    })
    .prompt(PromptDef::new("test_input_required_result_prompt", "MRTR: prompt that requires elicitation input"), |ctx: RequestContext, _a| async move {
        match accepted_str(ctx.input_response("user_context"), "context") {
            Some(context) => Ok(prompt("A prompt with context", vec![user(Content::text(format!("Prompt with context: {context}")))])),
            None => {
                let schema = json!({ "type": "object", "properties": { "context": { "type": "string" } }, "required": ["context"] });
                Err(ctx.input_required().elicit("user_context", "What context should the prompt use?", schema).build())
            }
        }
    })
}
