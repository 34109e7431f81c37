//! Errors a user's handler returns, and errors from building a registry.

use ringmcp_proto::uri_template::TemplateError;

/// What a handler can fail with. The server maps each variant to what the spec prescribes for the
/// method: a tool's `Failed` becomes an `isError: true` result the model sees; `InvalidParams` a
/// -32602 error; `NotFound` the revision's resource-not-found code; `Internal` -32603.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HandlerError {
    /// The operation failed in a way the caller (the model) should see.
    #[error("{0}")]
    Failed(String),
    /// The request's parameters are wrong.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The named thing (resource, prompt) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A bug or an unexpected condition in the server.
    #[error("internal error: {0}")]
    Internal(String),
    /// The handler needs a client capability the client did not declare (e.g. `"elicitation"`).
    #[error("the client did not declare the {0} capability")]
    MissingCapability(String),
    /// 2026-07-28: the handler needs input from the client first. Produced by
    /// [`crate::RequestContext`]'s input methods, or built with
    /// [`crate::RequestContext::input_required`]; a handler returns it as is.
    #[error("input required from the client")]
    InputRequired {
        /// What to ask, by key (the client answers under the same keys).
        requests: Vec<(String, ringmcp_proto::types::InputRequest)>,
        /// State to get back with the answers (sealed by the server; handlers see plain text).
        state: Option<String>,
        /// Whether the state is accepted back once only
        /// ([`crate::sdk::InputRequiredBuilder::single_use`]).
        single_use: bool,
    },
}

/// Why [`crate::ServerBuilder::build`] refused a registration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two tools, prompts or resources share a name or URI.
    #[error("duplicate {kind} {name:?}")]
    Duplicate {
        /// "tool", "prompt", "resource" or "resource template".
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A tool's input schema is not a valid JSON Schema.
    #[error("tool {tool:?}: invalid input schema: {reason}")]
    InvalidSchema {
        /// Tool name.
        tool: String,
        /// What the validator said.
        reason: String,
    },
    /// A resource template is malformed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The registry was served as fixed ([`crate::serve`]); serve a [`crate::LiveRegistry`] with
    /// [`crate::serve_live`] to change it while it runs.
    #[error("this registry is served as fixed: serve a LiveRegistry with serve_live to change it")]
    NotLive,
    /// A skill breaks a rule of SEP-2640 or of the Agent Skills format.
    #[error("skill {skill}: {source}")]
    Skill {
        /// The skill path (or the skills folder, for an error before any skill was found).
        skill: String,
        /// The rule it breaks.
        source: crate::sdk::SkillError,
    },
}
