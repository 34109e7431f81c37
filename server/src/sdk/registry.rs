//! [`Registry`]: the immutable table of tools, resources, templates, prompts and skills. Built
//! once and read without locks; each shard serves its own copy (the handlers' `Arc`s are
//! shared, and never cloned per request). A server whose set
//! changes while it runs ([`crate::LiveRegistry`]) builds a new table from the old one
//! ([`Registry::to_builder`]: the entries are cheap to clone, their handlers are shared) and
//! each shard swaps its copy.
//!
//! Each list carries a digest of its items' keys, which cursors seal, so that a page asked for
//! after the list changed is refused rather than cut from another list.

use super::context::RequestContext;
use super::error::HandlerError;
use ringmcp_proto::pagination::ListKind;
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
/// A tool handler: arguments already validated against the tool's input schema. Handlers (this
/// one, [`ReadFn`], [`PromptFn`]) are called when the request is dispatched, borrowed from the
/// shard's copy of the registry, and only the future they return runs in the call's task: do the
/// work inside that future (work done before returning it runs before a single-use request state
/// is spent and before an automatic task is created).
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
#[derive(Clone)]
pub struct ToolEntry {
    /// What `tools/list` shows.
    pub tool: Tool,
    pub(crate) validator: Arc<jsonschema::Validator>,
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
#[derive(Clone)]
pub struct ResourceEntry {
    /// What `resources/list` shows.
    pub resource: Resource,
    /// Whether clients may subscribe to updates.
    pub subscribable: bool,
    pub(crate) read: ReadFn,
}

/// A registered resource template.
#[derive(Clone)]
pub struct TemplateEntry {
    /// What `resources/templates/list` shows.
    pub template: ResourceTemplate,
    pub(crate) matcher: UriTemplate,
    pub(crate) read: ReadFn,
    pub(crate) completions: HashMap<String, CompleteFn>,
}

/// A registered prompt.
#[derive(Clone)]
pub struct PromptEntry {
    /// What `prompts/list` shows.
    pub prompt: Prompt,
    pub(crate) get: PromptFn,
    pub(crate) completions: HashMap<String, CompleteFn>,
}

/// Everything a server offers. Immutable once built.
#[derive(Clone)]
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
    /// Where the skills came from (for [`Registry::to_builder`]).
    pub(crate) skill_sources: Vec<super::skills::SkillSource>,
    pub(crate) skill_limits: super::skills::SkillLimits,
    /// The resources registered as such come first; the skills' files follow.
    pub(crate) plain_resources: usize,
    /// A digest of each list's keys, by [`ListKind`] (cursors seal it).
    pub(crate) digests: ListDigests,
}

/// The digest of each paginated list's keys (tool and prompt names, resource URIs, templates),
/// indexed by [`ListKind`]: equal lists have equal digests on every node and every build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListDigests([u64; 8]);

impl ListDigests {
    /// The digest of list `kind`.
    pub(crate) fn of(&self, kind: ListKind) -> u64 {
        self.0.get(kind as usize).copied().unwrap_or(0)
    }

    /// Set the digest of list `kind` from its keys.
    pub(crate) fn set<'a>(&mut self, kind: ListKind, keys: impl Iterator<Item = &'a str>) {
        if let Some(slot) = self.0.get_mut(kind as usize) {
            *slot = digest(keys);
        }
    }
}

/// 64-bit FNV-1a over the keys, each followed by a 0 byte.
fn digest<'a>(keys: impl Iterator<Item = &'a str>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for key in keys {
        for b in key.bytes().chain(std::iter::once(0)) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
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
    pub(crate) fn reader(&self, uri: &str) -> Option<(&ReadFn, BTreeMap<String, String>)> {
        if let Some(r) = self.resource(uri) {
            return Some((&r.read, BTreeMap::new()));
        }
        self.template_entries
            .iter()
            .find_map(|t| t.matcher.matches(uri).map(|vars| (&t.read, vars)))
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
