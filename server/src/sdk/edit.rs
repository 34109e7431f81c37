//! Editing a set: taking entries out of a [`ServerBuilder`], and turning a built [`Registry`] back
//! into a builder ([`Registry::to_builder`]) to add to or take from and build again. This is how
//! a [`crate::LiveRegistry`] changes; the checks stay the builder's.

use super::builder::ServerBuilder;
use super::registry::Registry;

impl ServerBuilder {
    /// Drop the tool `name` (nothing happens if there is none).
    pub fn remove_tool(mut self, name: &str) -> Self {
        self.tools
            .retain(|t| t.as_ref().map_or(true, |t| t.tool.name != name));
        self.task_support.remove(name);
        self.deferred_tasks.retain(|t| t != name);
        self
    }

    /// Drop the concrete resource `uri`.
    pub fn remove_resource(mut self, uri: &str) -> Self {
        self.resources.retain(|r| r.resource.uri != uri);
        self
    }

    /// Drop the resource template `uri_template`.
    pub fn remove_resource_template(mut self, uri_template: &str) -> Self {
        self.templates.retain(|t| {
            t.as_ref()
                .map_or(true, |t| t.template.uri_template != uri_template)
        });
        self
    }

    /// Drop the prompt `name`.
    pub fn remove_prompt(mut self, name: &str) -> Self {
        self.prompts.retain(|p| p.prompt.name != name);
        self
    }

    /// Whether a tool named `name` is registered.
    pub fn has_tool(&self, name: &str) -> bool {
        self.tools
            .iter()
            .any(|t| t.as_ref().is_ok_and(|t| t.tool.name == name))
    }

    /// Whether a prompt named `name` is registered.
    pub fn has_prompt(&self, name: &str) -> bool {
        self.prompts.iter().any(|p| p.prompt.name == name)
    }
}

impl Registry {
    /// A builder holding everything this registry has (the same handlers, shared), to add to or
    /// take from and build again: how a server's set changes while it runs.
    pub fn to_builder(&self) -> ServerBuilder {
        ServerBuilder {
            info: self.info.clone(),
            instructions: self.instructions.clone(),
            tools: self.tool_entries.iter().cloned().map(Ok).collect(),
            // The skills' files are made again from their sources.
            resources: self.resource_entries[..self.plain_resources].to_vec(),
            templates: self.template_entries.iter().cloned().map(Ok).collect(),
            prompts: self.prompt_entries.clone(),
            task_support: self
                .tool_entries
                .iter()
                .map(|t| (t.tool.name.clone(), t.task_support))
                .collect(),
            deferred_tasks: self
                .tool_entries
                .iter()
                .filter(|t| t.task_deferred)
                .map(|t| t.tool.name.clone())
                .collect(),
            skills: self.skill_sources.clone(),
            skill_limits: self.skill_limits,
        }
    }
}
