//! [`ServerBuilder`]: typed registration of tools, resources, templates and prompts.

use super::context::RequestContext;
use super::error::{BuildError, HandlerError};
use super::registry::*;
use ringmcp_proto::pagination::ListKind;
use ringmcp_proto::types::{
    CallToolResult, Content, GetPromptResult, Implementation, Prompt, PromptArgument, Resource,
    ResourceContents, ResourceTemplate, TaskSupport, Tool, ToolAnnotations,
};
use ringmcp_proto::uri_template::UriTemplate;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

/// A concrete resource to register.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// URI.
    pub uri: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Whether clients may subscribe to its updates.
    pub subscribable: bool,
}

impl ResourceDef {
    /// A resource with a URI and a name.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceDef {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: None,
            subscribable: false,
        }
    }
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Set the MIME type.
    pub fn mime_type(mut self, m: impl Into<String>) -> Self {
        self.mime_type = Some(m.into());
        self
    }
    /// Allow subscriptions.
    pub fn subscribable(mut self) -> Self {
        self.subscribable = true;
        self
    }
}

/// A resource template to register.
#[derive(Clone)]
pub struct TemplateDef {
    /// RFC 6570 level-1 template.
    pub uri_template: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    completions: HashMap<String, CompleteFn>,
}

impl TemplateDef {
    /// A template with a name.
    pub fn new(uri_template: impl Into<String>, name: impl Into<String>) -> Self {
        TemplateDef {
            uri_template: uri_template.into(),
            name: name.into(),
            description: None,
            mime_type: None,
            completions: HashMap::new(),
        }
    }
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Set the MIME type.
    pub fn mime_type(mut self, m: impl Into<String>) -> Self {
        self.mime_type = Some(m.into());
        self
    }
    /// Complete a template variable.
    pub fn complete(
        mut self,
        variable: impl Into<String>,
        f: impl Fn(&str, &BTreeMap<String, String>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(variable.into(), Arc::new(f));
        self
    }
}

/// A prompt to register.
#[derive(Clone)]
pub struct PromptDef {
    prompt: Prompt,
    completions: HashMap<String, CompleteFn>,
}

impl PromptDef {
    /// A prompt with a name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        PromptDef {
            prompt: Prompt {
                name: name.into(),
                title: None,
                description: Some(description.into()),
                arguments: vec![],
            },
            completions: HashMap::new(),
        }
    }
    /// Add an argument.
    pub fn argument(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        required: bool,
    ) -> Self {
        self.prompt.arguments.push(PromptArgument {
            name: name.into(),
            description: Some(description.into()),
            required,
        });
        self
    }
    /// Complete an argument.
    pub fn complete(
        mut self,
        argument: impl Into<String>,
        f: impl Fn(&str, &BTreeMap<String, String>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(argument.into(), Arc::new(f));
        self
    }
}

/// Builds a [`Registry`].
///
/// ```
/// use ringmcp::{HandlerError, ServerBuilder};
/// use ringmcp_proto::types::CallToolResult;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Shout { text: String }
///
/// let registry = ServerBuilder::new("shouter", "1.0.0")
///     .tool("shout", "Upper-cases text", |_ctx, a: Shout| async move {
///         Ok::<_, HandlerError>(CallToolResult::text(a.text.to_uppercase()))
///     })
///     .build()
///     .expect("valid registry");
/// assert_eq!(registry.info().name, "shouter");
/// ```
pub struct ServerBuilder {
    pub(super) info: Implementation,
    pub(super) instructions: Option<String>,
    pub(super) tools: Vec<Result<ToolEntry, BuildError>>,
    pub(super) resources: Vec<ResourceEntry>,
    pub(super) templates: Vec<Result<TemplateEntry, BuildError>>,
    pub(super) prompts: Vec<PromptEntry>,
    pub(super) task_support: HashMap<String, TaskSupport>,
    pub(super) deferred_tasks: Vec<String>,
    /// Skills, registered by [`super::skills`]' methods.
    pub(super) skills: Vec<super::skills::SkillSource>,
    pub(super) skill_limits: super::skills::SkillLimits,
}

fn schema_of<T: JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T))
        .unwrap_or_else(|_| serde_json::json!({"type": "object"}));
    if let Some(obj) = v.as_object_mut() {
        obj.remove("$schema");
        obj.entry("type")
            .or_insert_with(|| Value::String("object".into()));
    }
    v
}

impl ServerBuilder {
    /// A server with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServerBuilder {
            info: Implementation {
                name: name.into(),
                version: version.into(),
                title: None,
            },
            instructions: None,
            tools: vec![],
            resources: vec![],
            templates: vec![],
            prompts: vec![],
            task_support: HashMap::new(),
            deferred_tasks: Vec::new(),
            skills: Vec::new(),
            skill_limits: Default::default(),
        }
    }

    /// A tool that only runs as a task but decides itself when to become one, after synchronous
    /// input rounds (2026-07-28), by calling [`RequestContext::become_task`].
    pub fn deferred_task(mut self, tool: &str) -> Self {
        self.task_support
            .insert(tool.to_owned(), TaskSupport::Required);
        self.deferred_tasks.push(tool.to_owned());
        self
    }

    /// Let a registered tool run as a task (2026-07-28 tasks extension, 2025-11-25 experimental
    /// tasks): `Optional` becomes a task when the client supports tasks, `Required` only runs as
    /// one. A handler may also turn itself into a task after synchronous input rounds with
    /// [`RequestContext::become_task`].
    pub fn task_support(mut self, tool: &str, support: TaskSupport) -> Self {
        self.task_support.insert(tool.to_owned(), support);
        self
    }

    /// Usage hints sent in `initialize` and `server/discover` results.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// A tool taking typed arguments `A` (schema derived with schemars) and returning any result.
    pub fn tool<A, F, Fut>(self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + 'static,
        F: Fn(RequestContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, HandlerError>> + 'static,
    {
        // Each wrapper calls its handler at once, for the future: keeping the handler in an
        // `Arc` of its own and cloning it per call would be an atomic write on memory every
        // shard shares.
        let erased: ToolFn =
            Arc::new(
                move |ctx, args| match serde_json::from_value::<A>(Value::Object(args)) {
                    Ok(args) => Box::pin(handler(ctx, args)),
                    Err(e) => invalid(e),
                },
            );
        self.raw_tool(tool_def::<A>(name, description, None), erased)
    }

    /// A tool with typed arguments and typed structured output `O`: its `outputSchema` is derived
    /// from `O`, and each result carries `structuredContent` plus the same JSON as text.
    pub fn structured_tool<A, O, F, Fut>(self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(RequestContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, HandlerError>> + 'static,
    {
        let erased: ToolFn = Arc::new(move |ctx, args| {
            let called = serde_json::from_value::<A>(Value::Object(args))
                .map(|args| handler(ctx, args))
                .map_err(|e| HandlerError::InvalidParams(e.to_string()));
            Box::pin(async move {
                let out = called?.await?;
                let value = serde_json::to_value(&out)
                    .map_err(|e| HandlerError::Internal(e.to_string()))?;
                Ok(CallToolResult {
                    content: vec![Content::text(value.to_string())],
                    structured_content: Some(value),
                    is_error: None,
                })
            })
        });
        self.raw_tool(
            tool_def::<A>(name, description, Some(schema_of::<O>())),
            erased,
        )
    }

    /// A tool with a hand-written input schema (kept verbatim in `tools/list`) and a handler that
    /// gets the validated arguments as a JSON object.
    pub fn json_tool<F, Fut>(
        self,
        name: &str,
        description: &str,
        input_schema: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(RequestContext, serde_json::Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, HandlerError>> + 'static,
    {
        let erased: ToolFn = Arc::new(move |ctx, args| Box::pin(handler(ctx, args)));
        let tool = Tool {
            name: name.to_owned(),
            title: None,
            description: Some(description.to_owned()),
            input_schema,
            output_schema: None,
            annotations: None,
            execution: None,
        };
        self.raw_tool(tool, erased)
    }

    /// A tool described by hand (schema included) with an untyped handler.
    pub fn raw_tool(mut self, tool: Tool, handler: ToolFn) -> Self {
        let entry = jsonschema::validator_for(&tool.input_schema)
            .map(|validator| ToolEntry {
                tool: tool.clone(),
                validator: Arc::new(validator),
                handler,
                task_support: TaskSupport::Forbidden,
                task_deferred: false,
                header_params: header_params(&tool.input_schema),
            })
            .map_err(|e| BuildError::InvalidSchema {
                tool: tool.name.clone(),
                reason: e.to_string(),
            });
        self.tools.push(entry);
        self
    }

    /// A concrete resource with an async reader.
    pub fn resource<F, Fut>(mut self, def: ResourceDef, reader: F) -> Self
    where
        F: Fn(RequestContext, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + 'static,
    {
        let read: ReadFn = Arc::new(move |ctx, uri, _vars| Box::pin(reader(ctx, uri)));
        self.resources.push(ResourceEntry {
            resource: Resource {
                uri: def.uri,
                name: def.name,
                title: None,
                description: def.description,
                mime_type: def.mime_type,
                annotations: None,
            },
            subscribable: def.subscribable,
            read,
        });
        self
    }

    /// A resource template; the reader gets the matched variables.
    pub fn resource_template<F, Fut>(mut self, def: TemplateDef, reader: F) -> Self
    where
        F: Fn(RequestContext, String, BTreeMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, HandlerError>> + 'static,
    {
        let read: ReadFn = Arc::new(move |ctx, uri, vars| Box::pin(reader(ctx, uri, vars)));
        let entry = UriTemplate::parse(&def.uri_template)
            .map_err(BuildError::from)
            .map(|matcher| TemplateEntry {
                template: ResourceTemplate {
                    uri_template: def.uri_template,
                    name: def.name,
                    title: None,
                    description: def.description,
                    mime_type: def.mime_type,
                },
                matcher,
                read,
                completions: def.completions,
            });
        self.templates.push(entry);
        self
    }

    /// A prompt; the renderer gets the argument values (required ones are checked first).
    pub fn prompt<F, Fut>(mut self, def: PromptDef, render: F) -> Self
    where
        F: Fn(RequestContext, BTreeMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, HandlerError>> + 'static,
    {
        let get: PromptFn = Arc::new(move |ctx, args| Box::pin(render(ctx, args)));
        self.prompts.push(PromptEntry {
            prompt: def.prompt,
            get,
            completions: def.completions,
        });
        self
    }

    /// Check everything and freeze it.
    pub fn build(self) -> Result<Registry, BuildError> {
        let mut tool_entries = self.tools.into_iter().collect::<Result<Vec<_>, _>>()?;
        for entry in &mut tool_entries {
            entry.task_support = self
                .task_support
                .get(&entry.tool.name)
                .copied()
                .unwrap_or_default();
            entry.task_deferred = self.deferred_tasks.contains(&entry.tool.name);
        }
        let template_entries = self.templates.into_iter().collect::<Result<Vec<_>, _>>()?;
        // Kept by the registry, so that a live set rebuilt from it registers them again.
        let skill_sources = self.skills.clone();
        let skills = super::skills::assemble(self.skills, self.skill_limits)?;
        let plain_resources = self.resources.len();
        let mut resources = self.resources;
        resources.extend(skills.resources);
        let tool_index = index("tool", tool_entries.iter().map(|t| t.tool.name.as_str()))?;
        let resource_index = index(
            "resource",
            resources.iter().map(|r| r.resource.uri.as_str()),
        )?;
        let prompt_index = index(
            "prompt",
            self.prompts.iter().map(|p| p.prompt.name.as_str()),
        )?;
        index(
            "resource template",
            template_entries
                .iter()
                .map(|t| t.template.uri_template.as_str()),
        )?;
        let mut digests = ListDigests::default();
        digests.set(
            ListKind::Tools,
            tool_entries.iter().map(|t| t.tool.name.as_str()),
        );
        digests.set(
            ListKind::Resources,
            resources.iter().map(|r| r.resource.uri.as_str()),
        );
        digests.set(
            ListKind::Skills,
            skills.entries.iter().map(|s| s.uri.as_str()),
        );
        digests.set(
            ListKind::DirChildren,
            skills.dirs.values().flatten().map(|r| r.uri.as_str()),
        );
        digests.set(
            ListKind::ResourceTemplates,
            template_entries
                .iter()
                .map(|t| t.template.uri_template.as_str()),
        );
        digests.set(
            ListKind::Prompts,
            self.prompts.iter().map(|p| p.prompt.name.as_str()),
        );
        Ok(Registry {
            info: self.info,
            instructions: self.instructions,
            tools: tool_entries.iter().map(|t| t.tool.clone()).collect(),
            tools_with_execution: tool_entries
                .iter()
                .map(|t| {
                    let mut tool = t.tool.clone();
                    if t.task_support != TaskSupport::Forbidden {
                        tool.execution = Some(serde_json::json!({ "taskSupport": t.task_support }));
                    }
                    tool
                })
                .collect(),
            tool_entries,
            tool_index,
            resources: resources.iter().map(|r| r.resource.clone()).collect(),
            resource_entries: resources,
            resource_index,
            templates: template_entries
                .iter()
                .map(|t| t.template.clone())
                .collect(),
            template_entries,
            prompts: self.prompts.iter().map(|p| p.prompt.clone()).collect(),
            prompt_entries: self.prompts,
            prompt_index,
            digests,
            skill_index: skills
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.uri.clone(), i))
                .collect(),
            skills: skills.entries,
            skill_dirs: skills.dirs,
            skill_sources,
            skill_limits: self.skill_limits,
            plain_resources,
        })
    }
}

fn tool_def<A: JsonSchema>(name: &str, description: &str, output_schema: Option<Value>) -> Tool {
    Tool {
        name: name.to_owned(),
        title: None,
        description: Some(description.to_owned()),
        input_schema: schema_of::<A>(),
        output_schema,
        annotations: None::<ToolAnnotations>,
        execution: None,
    }
}

fn index<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, usize>, BuildError> {
    let mut map = HashMap::new();
    for (i, name) in names.enumerate() {
        if map.insert(name.to_owned(), i).is_some() {
            return Err(BuildError::Duplicate {
                kind,
                name: name.to_owned(),
            });
        }
    }
    Ok(map)
}

/// `(argument, header suffix)` of the input schema properties that carry `x-mcp-header`.
fn header_params(schema: &Value) -> Vec<(String, String)> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .filter_map(|(name, s)| Some((name.clone(), s.get("x-mcp-header")?.as_str()?.to_owned())))
        .collect()
}

/// The answer of a typed tool whose arguments did not deserialise.
fn invalid(e: serde_json::Error) -> BoxFuture<Result<CallToolResult, HandlerError>> {
    Box::pin(std::future::ready(Err(HandlerError::InvalidParams(
        e.to_string(),
    ))))
}
