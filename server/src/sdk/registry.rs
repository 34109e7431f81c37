//! [`Registry`]: the immutable table of tools, resources, templates, prompts and skills. Built once, shared
//! by every shard through an `Arc` and read without locks.

use super::context::RequestContext;
use super::error::HandlerError;
use ringmcp_proto::types::{
    CallToolResult, GetPromptResult, Implementation, Prompt, Resource, ResourceContents,
    ResourceTemplate, ServerCapabilities, SkillEntry, TaskSupport, Tool, SKILLS_EXTENSION,
};
use ringmcp_proto::uri_template::UriTemplate;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, shard-local future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
/// A tool handler: arguments already validated against the tool's input schema.
pub type ToolFn = Arc<
    dyn Fn(RequestContext, Map<String, Value>) -> BoxFuture<Result<CallToolResult, HandlerError>>
        + Send
        + Sync,
>;
/// A resource reader: gets the URI and, for templates, the matched variables.
pub type ReadFn = Arc<
    dyn Fn(
            RequestContext,
            String,
            BTreeMap<String, String>,
        ) -> BoxFuture<Result<Vec<ResourceContents>, HandlerError>>
        + Send
        + Sync,
>;
/// A prompt renderer: gets the argument values.
pub type PromptFn = Arc<
    dyn Fn(
            RequestContext,
            BTreeMap<String, String>,
        ) -> BoxFuture<Result<GetPromptResult, HandlerError>>
        + Send
        + Sync,
>;
/// A completion provider: gets the partial value and the other arguments, returns candidates.
pub type CompleteFn = Arc<dyn Fn(&str, &BTreeMap<String, String>) -> Vec<String> + Send + Sync>;

/// A registered tool.
pub struct ToolEntry {
    /// What `tools/list` shows.
    pub tool: Tool,
    pub(crate) validator: jsonschema::Validator,
    pub(crate) handler: ToolFn,
    /// Whether it runs as a task.
    pub task_support: TaskSupport,
    /// Arguments mirrored in `Mcp-Param-*` headers (SEP-2243): `(argument, header suffix)` for
    /// each input schema property with `x-mcp-header`, read once when the registry is built.
    pub header_params: Vec<(String, String)>,
    /// The handler turns itself into a task ([`crate::RequestContext::become_task`]) instead of
    /// the engine doing so before it runs.
    pub task_deferred: bool,
}

/// A registered concrete resource.
pub struct ResourceEntry {
    /// What `resources/list` shows.
    pub resource: Resource,
    /// Whether clients may subscribe to updates.
    pub subscribable: bool,
    pub(crate) read: ReadFn,
}

/// A registered resource template.
pub struct TemplateEntry {
    /// What `resources/templates/list` shows.
    pub template: ResourceTemplate,
    pub(crate) matcher: UriTemplate,
    pub(crate) read: ReadFn,
    pub(crate) completions: HashMap<String, CompleteFn>,
}

/// A registered prompt.
pub struct PromptEntry {
    /// What `prompts/list` shows.
    pub prompt: Prompt,
    pub(crate) get: PromptFn,
    pub(crate) completions: HashMap<String, CompleteFn>,
}

/// Everything a server offers. Immutable once built.
pub struct Registry {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Tool>,
    /// The same list with 2025-11-25 `execution.taskSupport`.
    pub(crate) tools_with_execution: Vec<Tool>,
    pub(crate) tool_entries: Vec<ToolEntry>,
    pub(crate) tool_index: HashMap<String, usize>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) resource_entries: Vec<ResourceEntry>,
    pub(crate) resource_index: HashMap<String, usize>,
    pub(crate) templates: Vec<ResourceTemplate>,
    pub(crate) template_entries: Vec<TemplateEntry>,
    pub(crate) prompts: Vec<Prompt>,
    pub(crate) prompt_entries: Vec<PromptEntry>,
    pub(crate) prompt_index: HashMap<String, usize>,
    /// Skills (SEP-2640): what `skills/list` shows; their files are among the resources.
    pub(crate) skills: Vec<SkillEntry>,
    pub(crate) skill_index: HashMap<String, usize>,
    /// Directory URI -> direct children, for `resources/directory/read`.
    pub(crate) skill_dirs: HashMap<String, Vec<Resource>>,
}

impl Registry {
    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.info
    }

    /// Capabilities that reflect what is registered.
    pub fn capabilities(&self) -> ServerCapabilities {
        use ringmcp_proto::types::{ListChangedCapability, ResourcesCapability};
        let has_resources = !self.resources.is_empty() || !self.templates.is_empty();
        let has_completions = self
            .prompt_entries
            .iter()
            .any(|p| !p.completions.is_empty())
            || self
                .template_entries
                .iter()
                .any(|t| !t.completions.is_empty());
        ServerCapabilities {
            tools: (!self.tools.is_empty()).then(ListChangedCapability::default),
            resources: has_resources.then(|| ResourcesCapability {
                subscribe: self.resource_entries.iter().any(|r| r.subscribable),
                list_changed: false,
            }),
            prompts: (!self.prompts.is_empty()).then(ListChangedCapability::default),
            logging: Some(Value::Object(Map::new())),
            completions: has_completions.then(|| Value::Object(Map::new())),
            experimental: None,
            tasks: None,
            // Inline settings: the suite reads `directoryRead` from this very object.
            extensions: (!self.skills.is_empty())
                .then(|| serde_json::json!({ SKILLS_EXTENSION: { "directoryRead": true } })),
        }
    }

    /// Whether any tool can run as a task.
    pub fn has_task_tools(&self) -> bool {
        self.tool_entries
            .iter()
            .any(|t| t.task_support != TaskSupport::Forbidden)
    }

    pub(crate) fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.tool_index.get(name).map(|&i| &self.tool_entries[i])
    }

    pub(crate) fn prompt(&self, name: &str) -> Option<&PromptEntry> {
        self.prompt_index
            .get(name)
            .map(|&i| &self.prompt_entries[i])
    }

    pub(crate) fn resource(&self, uri: &str) -> Option<&ResourceEntry> {
        self.resource_index
            .get(uri)
            .map(|&i| &self.resource_entries[i])
    }

    /// The reader for a URI: a concrete resource first, then the first matching template.
    pub(crate) fn reader(&self, uri: &str) -> Option<(ReadFn, BTreeMap<String, String>)> {
        if let Some(r) = self.resource(uri) {
            return Some((r.read.clone(), BTreeMap::new()));
        }
        self.template_entries
            .iter()
            .find_map(|t| t.matcher.matches(uri).map(|vars| (t.read.clone(), vars)))
    }

    pub(crate) fn skill(&self, uri: &str) -> Option<&SkillEntry> {
        self.skill_index.get(uri).map(|&i| &self.skills[i])
    }

    pub(crate) fn template_by_uri(&self, uri_template: &str) -> Option<&TemplateEntry> {
        self.template_entries
            .iter()
            .find(|t| t.template.uri_template == uri_template)
    }
}
