//! From a JSON-RPC request to a typed MCP request, plus the era it belongs to.
//!
//! [`ClientRequest::parse`] maps method names to typed params (-32601 for unknown methods, -32602
//! for params that do not fit). [`Era::of`] reads the 2026-07-28 `_meta` keys and decides whether
//! the request is stateless-modern or belongs to a legacy session, refusing unsupported versions
//! (-32022) and incomplete meta (-32602). [`ResultShape`] then adds what each era's results carry.

mod member;

pub use member::object_member;

use crate::jsonrpc::{code, ErrorObject};
use crate::revision::{supported_versions, ProtocolVersion};
use crate::types::*;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::Arc;

/// A typed client request.
#[derive(Debug, Clone)]
pub enum ClientRequest {
    /// `initialize` (legacy).
    Initialize(Box<InitializeParams>),
    /// `ping` (legacy).
    Ping(MetaOnlyParams),
    /// `server/discover` (2026-07-28).
    Discover(MetaOnlyParams),
    /// `tools/list`.
    ListTools(PaginatedParams),
    /// `tools/call`.
    CallTool(Box<CallToolParams>),
    /// `resources/list`.
    ListResources(PaginatedParams),
    /// `resources/templates/list`.
    ListResourceTemplates(PaginatedParams),
    /// `resources/read`.
    ReadResource(Box<ReadResourceParams>),
    /// `resources/subscribe` (legacy).
    Subscribe(SubscribeParams),
    /// `resources/unsubscribe` (legacy).
    Unsubscribe(SubscribeParams),
    /// `prompts/list`.
    ListPrompts(PaginatedParams),
    /// `prompts/get`.
    GetPrompt(Box<GetPromptParams>),
    /// `completion/complete`.
    Complete(Box<CompleteParams>),
    /// `logging/setLevel` (legacy).
    SetLevel(SetLevelParams),
    /// `subscriptions/listen` (2026-07-28).
    Listen(Box<ListenParams>),
    /// `tasks/get`.
    TaskGet(TaskIdParams),
    /// `tasks/update` (2026-07-28 tasks extension).
    TaskUpdate(TaskUpdateParams),
    /// `tasks/cancel`.
    TaskCancel(TaskIdParams),
    /// `tasks/result` (2025-11-25).
    TaskResult(TaskIdParams),
    /// `tasks/list` (2025-11-25).
    TaskList(PaginatedParams),
    /// `skills/list` (skills extension, every era).
    ListSkills(PaginatedParams),
    /// `skills/get` (skills extension, every era).
    GetSkill(GetSkillParams),
    /// `resources/directory/read` (skills extension, every era).
    ReadDirectory(DirectoryReadParams),
}

fn params<T: DeserializeOwned + Default>(raw: Option<&RawValue>) -> Result<T, ErrorObject> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => by_name(raw),
    }
}

fn required<T: DeserializeOwned>(raw: Option<&RawValue>) -> Result<T, ErrorObject> {
    match raw {
        None => Err(ErrorObject::invalid_params("params are required")),
        Some(raw) => by_name(raw),
    }
}

/// MCP params are by name: an object. (serde would also fill a struct from a positional array,
/// so every reader of params checks this first.)
pub fn params_by_name(raw: &RawValue) -> Result<(), ErrorObject> {
    if is_object(raw) {
        Ok(())
    } else {
        Err(ErrorObject::invalid_params("params must be an object"))
    }
}

/// Whether raw JSON is an object: what params (by name) and `_meta` client capabilities must be.
pub fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

fn by_name<T: DeserializeOwned>(raw: &RawValue) -> Result<T, ErrorObject> {
    params_by_name(raw)?;
    serde_json::from_str(raw.get()).map_err(ErrorObject::invalid_params)
}

/// Every request method [`ClientRequest::parse`] types (the others are -32601).
pub const REQUEST_METHODS: [&str; 23] = [
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "tasks/result",
    "tasks/list",
    "skills/list",
    "skills/get",
    "resources/directory/read",
];

/// Methods of the session-based revisions that 2026-07-28 removed.
const LEGACY_ONLY: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// The `_meta` protocol version of a request's params, if it names one.
pub fn meta_protocol_version(params: Option<&RawValue>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct P {
        #[serde(rename = "_meta")]
        meta: Option<M>,
    }
    #[derive(serde::Deserialize)]
    struct M {
        #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
        version: Option<String>,
    }
    serde_json::from_str::<P>(params?.get()).ok()?.meta?.version
}

impl ClientRequest {
    /// Type a request by its method name.
    pub fn parse(method: &str, raw: Option<&RawValue>) -> Result<Self, ErrorObject> {
        // A 2026-07-28 request for a method that revision removed is unknown, whatever its params.
        if LEGACY_ONLY.contains(&method)
            && meta_protocol_version(raw)
                .and_then(|v| ProtocolVersion::parse(&v))
                .is_some_and(ProtocolVersion::is_modern)
        {
            return Err(ErrorObject::method_not_found(&format!(
                "{method} (not part of 2026-07-28)"
            )));
        }
        Ok(match method {
            "initialize" => ClientRequest::Initialize(Box::new(required(raw)?)),
            "ping" => ClientRequest::Ping(params(raw)?),
            "server/discover" => ClientRequest::Discover(params(raw)?),
            "tools/list" => ClientRequest::ListTools(params(raw)?),
            "tools/call" => ClientRequest::CallTool(Box::new(required(raw)?)),
            "resources/list" => ClientRequest::ListResources(params(raw)?),
            "resources/templates/list" => ClientRequest::ListResourceTemplates(params(raw)?),
            "resources/read" => ClientRequest::ReadResource(Box::new(required(raw)?)),
            "resources/subscribe" => ClientRequest::Subscribe(required(raw)?),
            "resources/unsubscribe" => ClientRequest::Unsubscribe(required(raw)?),
            "prompts/list" => ClientRequest::ListPrompts(params(raw)?),
            "prompts/get" => ClientRequest::GetPrompt(Box::new(required(raw)?)),
            "completion/complete" => ClientRequest::Complete(Box::new(required(raw)?)),
            "logging/setLevel" => ClientRequest::SetLevel(required(raw)?),
            "subscriptions/listen" => ClientRequest::Listen(Box::new(required(raw)?)),
            "tasks/get" => ClientRequest::TaskGet(required(raw)?),
            "tasks/update" => ClientRequest::TaskUpdate(required(raw)?),
            "tasks/cancel" => ClientRequest::TaskCancel(required(raw)?),
            "tasks/result" => ClientRequest::TaskResult(required(raw)?),
            "tasks/list" => ClientRequest::TaskList(params(raw)?),
            "skills/list" => ClientRequest::ListSkills(params(raw)?),
            "skills/get" => ClientRequest::GetSkill(required(raw)?),
            "resources/directory/read" => ClientRequest::ReadDirectory(required(raw)?),
            other => return Err(ErrorObject::method_not_found(other)),
        })
    }

    /// The request's `_meta`, if it has one.
    pub fn meta(&self) -> Option<&RequestMeta> {
        match self {
            ClientRequest::Initialize(p) => p.meta.as_ref(),
            ClientRequest::Ping(p) | ClientRequest::Discover(p) => p.meta.as_ref(),
            ClientRequest::ListTools(p)
            | ClientRequest::ListResources(p)
            | ClientRequest::ListResourceTemplates(p)
            | ClientRequest::ListPrompts(p) => p.meta.as_ref(),
            ClientRequest::CallTool(p) => p.meta.as_ref(),
            ClientRequest::ReadResource(p) => p.meta.as_ref(),
            ClientRequest::Subscribe(p) | ClientRequest::Unsubscribe(p) => p.meta.as_ref(),
            ClientRequest::GetPrompt(p) => p.meta.as_ref(),
            ClientRequest::Complete(p) => p.meta.as_ref(),
            ClientRequest::SetLevel(p) => p.meta.as_ref(),
            ClientRequest::Listen(p) => p.meta.as_ref(),
            ClientRequest::TaskGet(p)
            | ClientRequest::TaskCancel(p)
            | ClientRequest::TaskResult(p) => p.meta.as_ref(),
            ClientRequest::TaskUpdate(p) => p.meta.as_ref(),
            ClientRequest::TaskList(p) | ClientRequest::ListSkills(p) => p.meta.as_ref(),
            ClientRequest::GetSkill(p) => p.meta.as_ref(),
            ClientRequest::ReadDirectory(p) => p.meta.as_ref(),
        }
    }

    fn meta_mut(&mut self) -> Option<&mut RequestMeta> {
        match self {
            ClientRequest::Initialize(p) => p.meta.as_mut(),
            ClientRequest::Ping(p) | ClientRequest::Discover(p) => p.meta.as_mut(),
            ClientRequest::ListTools(p)
            | ClientRequest::ListResources(p)
            | ClientRequest::ListResourceTemplates(p)
            | ClientRequest::ListPrompts(p) => p.meta.as_mut(),
            ClientRequest::CallTool(p) => p.meta.as_mut(),
            ClientRequest::ReadResource(p) => p.meta.as_mut(),
            ClientRequest::Subscribe(p) | ClientRequest::Unsubscribe(p) => p.meta.as_mut(),
            ClientRequest::GetPrompt(p) => p.meta.as_mut(),
            ClientRequest::Complete(p) => p.meta.as_mut(),
            ClientRequest::SetLevel(p) => p.meta.as_mut(),
            ClientRequest::Listen(p) => p.meta.as_mut(),
            ClientRequest::TaskGet(p)
            | ClientRequest::TaskCancel(p)
            | ClientRequest::TaskResult(p) => p.meta.as_mut(),
            ClientRequest::TaskUpdate(p) => p.meta.as_mut(),
            ClientRequest::TaskList(p) | ClientRequest::ListSkills(p) => p.meta.as_mut(),
            ClientRequest::GetSkill(p) => p.meta.as_mut(),
            ClientRequest::ReadDirectory(p) => p.meta.as_mut(),
        }
    }

    /// Whether the method exists in the stateless revision.
    pub fn is_modern_method(&self) -> bool {
        !matches!(
            self,
            ClientRequest::Initialize(_)
                | ClientRequest::Ping(_)
                | ClientRequest::Subscribe(_)
                | ClientRequest::Unsubscribe(_)
                | ClientRequest::SetLevel(_)
                | ClientRequest::TaskResult(_)
                | ClientRequest::TaskList(_)
        )
    }

    /// Whether the method exists in session-based revisions.
    pub fn is_legacy_method(&self) -> bool {
        !matches!(
            self,
            ClientRequest::Discover(_) | ClientRequest::Listen(_) | ClientRequest::TaskUpdate(_)
        )
    }
}

/// What a 2026-07-28 request said about its client in `_meta`.
#[derive(Debug, Clone)]
pub struct ModernContext {
    /// The revision (always 2026-07-28 today).
    pub version: ProtocolVersion,
    /// Declared client capabilities (a JSON object, unparsed).
    pub client_capabilities: Box<RawValue>,
    /// Self-reported client info (unparsed).
    pub client_info: Option<Box<RawValue>>,
    /// Minimum level for this request's log notifications; none means no log notifications.
    pub log_level: Option<LogLevel>,
}

impl ModernContext {
    /// Whether the client declared an extension (e.g. `io.modelcontextprotocol/tasks`) on this
    /// request.
    pub fn has_extension(&self, name: &str) -> bool {
        object_member(self.client_capabilities.get(), "extensions")
            .is_some_and(|ext| object_member(ext, name).is_some())
    }

    /// Whether the client declared a capability (e.g. `"elicitation"`).
    pub fn has_capability(&self, name: &str) -> bool {
        object_member(self.client_capabilities.get(), name).is_some()
    }
}

/// Which era a request belongs to.
#[derive(Debug, Clone)]
pub enum Era {
    /// Served by the connection's legacy session.
    Legacy,
    /// Stateless 2026-07-28.
    Modern(ModernContext),
}

/// The -32022 error for a version this server does not speak.
pub fn unsupported_version(requested: &str) -> ErrorObject {
    ErrorObject::new(
        code::UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
    )
    .with_data(json!({ "supported": supported_versions(), "requested": requested }))
}

impl Era {
    /// Decide the era from `_meta`. A request naming 2026-07-28 is modern and must carry client
    /// capabilities; one naming a legacy revision, or none, goes to the session.
    pub fn of(request: &mut ClientRequest) -> Result<Era, ErrorObject> {
        let meta = request.meta();
        let Some(version) = meta.and_then(|m| m.protocol_version.as_ref()) else {
            return match request {
                ClientRequest::Discover(_) | ClientRequest::Listen(_) => Err(ErrorObject::invalid_params(
                    "_meta must carry io.modelcontextprotocol/protocolVersion and clientCapabilities",
                )),
                _ => Ok(Era::Legacy),
            };
        };
        let Some(version_str) = version.as_str() else {
            return Err(ErrorObject::invalid_params(
                "io.modelcontextprotocol/protocolVersion must be a string",
            ));
        };
        let version = match ProtocolVersion::parse(version_str) {
            Some(v) if v.is_modern() => v,
            Some(_)
                if !matches!(
                    request,
                    ClientRequest::Discover(_) | ClientRequest::Listen(_)
                ) =>
            {
                return Ok(Era::Legacy)
            }
            _ => return Err(unsupported_version(version_str)),
        };
        let is_modern_method = request.is_modern_method();
        // Take what the context needs; the progress token stays for the handler.
        let (caps, client_info, log_level) = match request.meta_mut() {
            Some(m) => (
                m.client_capabilities.take(),
                m.client_info.take(),
                m.log_level.take(),
            ),
            None => (None, None, None),
        };
        let client_capabilities = match caps {
            Some(caps) if is_object(&caps) => caps,
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "io.modelcontextprotocol/clientCapabilities must be an object",
                ))
            }
            None => {
                return Err(ErrorObject::invalid_params(
                    "_meta must carry io.modelcontextprotocol/clientCapabilities",
                ))
            }
        };
        let log_level = match log_level {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value::<LogLevel>(v).map_err(|_| {
                ErrorObject::invalid_params("io.modelcontextprotocol/logLevel is not a log level")
            })?),
        };
        if !is_modern_method {
            return Err(ErrorObject::method_not_found(match request {
                ClientRequest::Initialize(_) => {
                    "initialize (not part of 2026-07-28; use server/discover)"
                }
                ClientRequest::Ping(_) => "ping (not part of 2026-07-28)",
                ClientRequest::SetLevel(_) => {
                    "logging/setLevel (not part of 2026-07-28; use _meta logLevel)"
                }
                ClientRequest::Subscribe(_) => {
                    "resources/subscribe (not part of 2026-07-28; use subscriptions/listen)"
                }
                ClientRequest::Unsubscribe(_) => {
                    "resources/unsubscribe (not part of 2026-07-28; cancel the subscriptions/listen request)"
                }
                ClientRequest::TaskResult(_) => {
                    "tasks/result (not part of 2026-07-28; tasks/get carries the result)"
                }
                ClientRequest::TaskList(_) => "tasks/list (not part of 2026-07-28)",
                // `is_modern_method` lists exactly the arms above.
                _ => "this method is not part of 2026-07-28",
            }));
        }
        Ok(Era::Modern(ModernContext {
            version,
            client_capabilities,
            client_info,
            log_level,
        }))
    }

    /// The modern context, if modern.
    pub fn modern(&self) -> Option<&ModernContext> {
        match self {
            Era::Modern(m) => Some(m),
            Era::Legacy => None,
        }
    }
}

/// What a result looks like in the era it is answered in: cache hints and server info for modern
/// results, nothing for legacy ones.
#[derive(Debug, Clone)]
pub struct ResultShape {
    /// Pre-serialised `{"io.modelcontextprotocol/serverInfo": ...}`.
    pub server_meta: Arc<RawValue>,
    /// `ttlMs` on cacheable results.
    pub ttl_ms: u64,
    /// `cacheScope` on cacheable results.
    pub cache_scope: CacheScope,
}

impl ResultShape {
    /// Shape for a server named by `info`.
    pub fn new(info: &Implementation, ttl_ms: u64, cache_scope: CacheScope) -> Self {
        let meta = json!({ SERVER_INFO_KEY: info }).to_string();
        let server_meta = RawValue::from_string(meta)
            .map(Arc::from)
            .unwrap_or_else(|_| Arc::from(RawValue::NULL.to_owned()));
        ResultShape {
            server_meta,
            ttl_ms,
            cache_scope,
        }
    }

    /// The envelope for a result; `cacheable` for list, read and discover results.
    pub fn envelope(&self, era: &Era, cacheable: bool) -> ResultEnvelope {
        match era {
            Era::Legacy => ResultEnvelope::default(),
            Era::Modern(_) => ResultEnvelope {
                result_type: Some(ResultType::Complete),
                ttl_ms: cacheable.then_some(self.ttl_ms),
                cache_scope: cacheable.then_some(self.cache_scope),
                meta: Some(self.server_meta.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_methods_is_the_list_parse_knows() {
        for method in REQUEST_METHODS {
            let e = ClientRequest::parse(method, None).err();
            assert!(
                e.is_none_or(|e| e.code != crate::jsonrpc::code::METHOD_NOT_FOUND),
                "{method}"
            );
        }
        let unknown = ClientRequest::parse("tools/nope", None).err();
        assert_eq!(
            unknown.map(|e| e.code),
            Some(crate::jsonrpc::code::METHOD_NOT_FOUND)
        );
    }

    #[test]
    fn object_member_reads_one_member_without_building_the_rest() {
        let caps = r#"{"sampling":null,"elicit\u0061tion":{"form":{}},"extensions":{"io.modelcontextprotocol/tasks":{}},"roots":[1,{"a":"b"}]}"#;
        assert_eq!(object_member(caps, "elicitation"), Some(r#"{"form":{}}"#));
        assert!(
            object_member(caps, "sampling").is_none(),
            "null is not a declaration"
        );
        assert!(object_member(caps, "tasks").is_none());
        assert!(object_member("[1,2]", "roots").is_none(), "not an object");
        let ctx = ModernContext {
            version: ProtocolVersion::V2026_07_28,
            client_capabilities: RawValue::from_string(caps.to_owned()).unwrap(),
            client_info: None,
            log_level: None,
        };
        assert!(ctx.has_extension("io.modelcontextprotocol/tasks"));
        assert!(!ctx.has_extension("io.modelcontextprotocol/other"));
        assert!(ctx.has_capability("roots"));
        assert!(!ctx.has_capability("sampling"));
    }

    fn req(method: &str, params: &str) -> Result<ClientRequest, ErrorObject> {
        let raw =
            RawValue::from_string(params.to_owned()).unwrap_or_else(|_| RawValue::NULL.to_owned());
        ClientRequest::parse(method, Some(&raw))
    }

    #[test]
    fn unknown_and_bad_params() {
        assert_eq!(req("nope", "{}").unwrap_err().code, code::METHOD_NOT_FOUND);
        assert_eq!(
            req("tools/call", r#"{"name":3}"#).unwrap_err().code,
            code::INVALID_PARAMS
        );
        assert_eq!(
            ClientRequest::parse("tools/call", None).unwrap_err().code,
            code::INVALID_PARAMS
        );
        assert!(req("tools/list", "{}").is_ok());
    }

    #[test]
    fn eras() {
        let m = r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}"#;
        assert!(matches!(
            Era::of(&mut req("tools/list", m).unwrap_or(ClientRequest::Ping(Default::default()))),
            Ok(Era::Modern(_))
        ));
        assert!(matches!(
            Era::of(
                &mut req("tools/list", "{}").unwrap_or(ClientRequest::Ping(Default::default()))
            ),
            Ok(Era::Legacy)
        ));
        let bad = r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01","io.modelcontextprotocol/clientCapabilities":{}}}"#;
        let e =
            Era::of(&mut req("tools/list", bad).unwrap_or(ClientRequest::Ping(Default::default())))
                .unwrap_err();
        assert_eq!(e.code, code::UNSUPPORTED_PROTOCOL_VERSION);
        let no_caps = r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#;
        assert_eq!(
            Era::of(
                &mut req("tools/list", no_caps).unwrap_or(ClientRequest::Ping(Default::default()))
            )
            .unwrap_err()
            .code,
            code::INVALID_PARAMS
        );
        // Methods 2026-07-28 removed are unknown there, whatever their params.
        assert_eq!(req("ping", m).unwrap_err().code, code::METHOD_NOT_FOUND);
        assert_eq!(
            req("initialize", m).unwrap_err().code,
            code::METHOD_NOT_FOUND
        );
        assert_eq!(
            req("resources/subscribe", m).unwrap_err().code,
            code::METHOD_NOT_FOUND
        );
    }
}
