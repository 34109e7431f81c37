//! Typed MCP messages, one file per message family. Field names follow the JSON Schemas of every
//! revision (camelCase on the wire); fields that only some revisions know are `Option`s that the
//! result writer drops for older revisions (see [`crate::dispatch`]).

pub mod completion;
pub mod content;
pub mod discover;
pub mod initialize;
pub mod input;
pub mod logging;
pub mod meta;
pub mod prompts;
pub mod resources;
pub mod skills;
pub mod tasks;
pub mod tools;

pub use completion::*;
pub use content::*;
pub use discover::*;
pub use initialize::*;
pub use input::*;
pub use logging::*;
pub use meta::*;
pub use prompts::*;
pub use resources::*;
pub use skills::*;
pub use tasks::*;
pub use tools::*;
