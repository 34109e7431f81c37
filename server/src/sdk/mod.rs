//! The SDK: what a user writes against. [`ServerBuilder`] registers tools, resources, resource
//! templates, prompts and completion providers with typed, async handlers and produces a
//! [`Registry`], an immutable table that every shard reads without locks.
//!
//! Handlers run on the shard that received the request; their futures need not be `Send`. They
//! receive a [`RequestContext`] to report progress, log to the client, observe cancellation and
//! publish resource updates.
//!
//! Skills (SEP-2640) are registered with [`ServerBuilder::skill`] and [`ServerBuilder::skills_dir`]:
//! each file becomes an ordinary resource, and the engine answers `skills/list`, `skills/get` and
//! `resources/directory/read` from the registry.

mod builder;
mod context;
mod edit;
mod error;
mod live;
mod registry;
mod skills;

pub use builder::{PromptDef, ResourceDef, ServerBuilder, TemplateDef};
pub(crate) use context::InputMode;
pub use context::{InputRequiredBuilder, RequestContext};
// Lives with the shard state so that `service` needs nothing from here; handlers find it here.
pub use crate::service::CancelToken;
pub use error::{BuildError, HandlerError};
pub use live::LiveRegistry;
pub use registry::{
    BoxFuture, CompleteFn, PromptEntry, PromptFn, ReadFn, Registry, ResourceEntry, TemplateEntry,
    ToolEntry, ToolFn,
};
pub use skills::{SkillDef, SkillError, SkillLimits, SKILL_MD};
