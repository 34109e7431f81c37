//! `ringmcp-client conformance <url>`: what the official MCP conformance suite's client scenarios
//! expect a client to do. The suite names the scenario in `MCP_CONFORMANCE_SCENARIO`, the
//! revision in `MCP_CONFORMANCE_PROTOCOL_VERSION` (spoken as a fixed era) and any extra input in
//! `MCP_CONFORMANCE_CONTEXT` (JSON). Each scenario is a short script over the public blocking
//! client; this file must not reach into transports or protocol state.

use crate::blocking::{Client, ClientError, ConnectOptions};
use ringmcp_proto::client::Era;
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};

/// Why a conformance scenario failed.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// `MCP_CONFORMANCE_SCENARIO` is not set.
    #[error("MCP_CONFORMANCE_SCENARIO is not set")]
    NoScenario,
    /// A scenario this client has no script for.
    #[error("unknown conformance scenario '{0}'")]
    UnknownScenario(String),
    /// `MCP_CONFORMANCE_CONTEXT` is missing or lacks what the scenario needs.
    #[error("conformance context: {0}")]
    Context(String),
    /// A tool the scenario needs is not listed.
    #[error("the server lists no tool '{0}'")]
    MissingTool(String),
    /// The client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Building the authorizer failed.
    #[error(transparent)]
    Auth(#[from] crate::authorize::AuthError),
}

/// The inputs of one scenario run.
#[derive(Debug)]
struct Scenario {
    name: String,
    era: Era,
    context: Value,
}

impl Scenario {
    fn from_env() -> Result<Self, ConformanceError> {
        let name =
            std::env::var("MCP_CONFORMANCE_SCENARIO").map_err(|_| ConformanceError::NoScenario)?;
        let era = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
            .ok()
            .and_then(|v| ProtocolVersion::parse(&v))
            .map_or(Era::Auto, Era::Fixed);
        let context = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| ConformanceError::Context(format!("not JSON: {e}")))?,
            Err(_) => Value::Null,
        };
        Ok(Scenario { name, era, context })
    }
}

/// Run the scenario named in the environment against the server at `url`.
pub fn run(url: &str) -> Result<(), ConformanceError> {
    let scenario = Scenario::from_env()?;
    tracing::info!(scenario = %scenario.name, era = ?scenario.era, url, "conformance scenario");
    if scenario.name.starts_with("auth/") {
        let authorizer = crate::auth::for_conformance(
            Some(&scenario.context).filter(|c| !c.is_null()),
            &scenario.name,
        )?;
        let options = ConnectOptions {
            era: scenario.era,
            authorizer: Some(authorizer),
            ..ConnectOptions::default()
        };
        let mut client = Client::connect_http(url, options)?;
        authorized(&mut client)?;
        client.close()?;
        return Ok(());
    }
    let options = ConnectOptions {
        era: scenario.era,
        ..ConnectOptions::default()
    };
    let mut client = Client::connect_http(url, options)?;
    script(&scenario, &mut client)?;
    client.close()?;
    Ok(())
}

/// After authorization: what every `auth/*` scenario needs (an authorized request, and a tool
/// call for step-up).
pub fn authorized(client: &mut Client) -> Result<(), ConformanceError> {
    let tools = client.list_tools()?;
    if tools.iter().any(|t| t["name"] == "test-tool") {
        client.call_tool("test-tool", json!({}))?;
    }
    Ok(())
}

fn has_tool(tools: &[Value], name: &str) -> Result<(), ConformanceError> {
    if tools.iter().any(|t| t["name"] == name) {
        Ok(())
    } else {
        Err(ConformanceError::MissingTool(name.to_owned()))
    }
}

fn script(scenario: &Scenario, client: &mut Client) -> Result<(), ConformanceError> {
    match scenario.name.as_str() {
        "initialize" | "json-schema-ref-no-deref" | "request-metadata" => {
            client.list_tools()?;
        }
        "tools_call" => {
            let tools = client.list_tools()?;
            has_tool(&tools, "add_numbers")?;
            client.call_tool("add_numbers", json!({ "a": 5, "b": 3 }))?;
        }
        "elicitation-sep1034-client-defaults" => {
            let tools = client.list_tools()?;
            has_tool(&tools, "test_client_elicitation_defaults")?;
            client.call_tool("test_client_elicitation_defaults", json!({}))?;
        }
        "sse-retry" => {
            let tools = client.list_tools()?;
            has_tool(&tools, "test_reconnection")?;
            client.call_tool("test_reconnection", json!({}))?;
        }
        "sep-2322-client-request-state" => {
            for tool in [
                "test_mrtr_echo_state",
                "test_mrtr_no_state",
                "test_mrtr_unrelated",
                "test_mrtr_no_result_type",
            ] {
                client.call_tool(tool, json!({}))?;
            }
        }
        "http-standard-headers" => exercise_everything(client)?,
        "http-custom-headers" => {
            client.list_tools()?;
            let calls = scenario
                .context
                .get("toolCalls")
                .and_then(Value::as_array)
                .ok_or_else(|| ConformanceError::Context("no toolCalls".into()))?;
            for call in calls {
                let name = call["name"].as_str().unwrap_or_default();
                client.call_tool(name, call.get("arguments").cloned().unwrap_or(json!({})))?;
            }
        }
        "http-invalid-tool-headers" => {
            // Only tools whose header annotations are valid are listed; call each.
            for tool in client.list_tools()? {
                let name = tool["name"].as_str().unwrap_or_default().to_owned();
                client.call_tool(&name, example_arguments(&tool))?;
            }
        }
        "json-schema-2020-12-preservation" => {
            let tools = client.list_tools()?;
            let schema = tools
                .iter()
                .find(|t| t["name"] == "json_schema_2020_12_tool")
                .map(|t| t["inputSchema"].clone())
                .ok_or_else(|| ConformanceError::MissingTool("json_schema_2020_12_tool".into()))?;
            has_tool(&tools, "json_schema_echo")?;
            client.call_tool("json_schema_echo", json!({ "schema": schema }))?;
        }
        "sep-2640-client-no-prefetch" => {
            client.list_skills()?;
        }
        name if name.starts_with("sep-2640-client-verify-") => {
            for skill in client.list_skills()? {
                // A skill that fails verification is not used: none of its other files is read.
                client.load_skill(&skill)?;
                let uri = skill["uri"].as_str().unwrap_or_default().to_owned();
                let others: Vec<String> = skill["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["uri"].as_str())
                    .filter(|u| *u != uri)
                    .map(str::to_owned)
                    .collect();
                for other in others {
                    client.read_skill_file(&skill, &other)?;
                }
            }
        }
        other => return Err(ConformanceError::UnknownScenario(other.to_owned())),
    }
    Ok(())
}

/// Use every tool, resource and prompt the server lists once.
fn exercise_everything(client: &mut Client) -> Result<(), ConformanceError> {
    for tool in client.list_tools()? {
        let name = tool["name"].as_str().unwrap_or_default().to_owned();
        client.call_tool(&name, example_arguments(&tool))?;
    }
    for resource in client.list_resources()? {
        if let Some(uri) = resource["uri"].as_str() {
            client.read_resource(uri)?;
        }
    }
    for prompt in client.list_prompts()? {
        if let Some(name) = prompt["name"].as_str() {
            client.get_prompt(name, Value::Null)?;
        }
    }
    Ok(())
}

/// Arguments for a tool from its input schema: each property's default or example, else a
/// value of its type.
fn example_arguments(tool: &Value) -> Value {
    let mut args = serde_json::Map::new();
    if let Some(props) = tool["inputSchema"]["properties"].as_object() {
        for (name, schema) in props {
            let value = schema
                .get("default")
                .or_else(|| schema.get("examples").and_then(|e| e.get(0)))
                .cloned()
                .unwrap_or_else(|| match schema["type"].as_str() {
                    Some("integer") | Some("number") => json!(1),
                    Some("boolean") => json!(true),
                    Some("array") => json!([]),
                    Some("object") => json!({}),
                    _ => json!("example"),
                });
            args.insert(name.clone(), value);
        }
    }
    Value::Object(args)
}
