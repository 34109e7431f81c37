//! The legacy (2024-11-05 .. 2025-11-25) session lifecycle: `initialize` negotiates a revision, then
//! the session serves requests. Requests other than `ping` before `initialize`, and a second
//! `initialize`, are refused. Modern (2026-07-28) requests bypass this machine entirely.

use crate::jsonrpc::{code, ErrorObject};
use crate::revision::ProtocolVersion;
use crate::types::{Implementation, InitializeParams, LogLevel};
use serde_json::Value;

/// Where a legacy session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `initialize`.
    AwaitingInitialize,
    /// `initialize` answered; `notifications/initialized` not yet seen.
    Initializing,
    /// Fully operational.
    Ready,
}

/// State of one legacy session.
#[derive(Debug, Clone)]
pub struct LegacySession {
    phase: Phase,
    version: Option<ProtocolVersion>,
    client_info: Option<Implementation>,
    client_capabilities: Value,
    log_level: Option<LogLevel>,
}

impl Default for LegacySession {
    fn default() -> Self {
        Self::new()
    }
}

impl LegacySession {
    /// A session that has not been initialised.
    pub fn new() -> Self {
        LegacySession {
            phase: Phase::AwaitingInitialize,
            version: None,
            client_info: None,
            client_capabilities: Value::Null,
            log_level: None,
        }
    }

    /// A session initialised elsewhere (another shard or node), rebuilt from what was stored of
    /// it: ready to serve.
    pub fn restore(
        version: ProtocolVersion,
        client_info: Option<Implementation>,
        client_capabilities: Value,
        log_level: Option<LogLevel>,
    ) -> Self {
        LegacySession {
            phase: Phase::Ready,
            version: Some(version),
            client_info,
            client_capabilities,
            log_level,
        }
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The negotiated revision, once initialised.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Who the client said it is.
    pub fn client_info(&self) -> Option<&Implementation> {
        self.client_info.as_ref()
    }

    /// The client's declared capabilities (null before `initialize`).
    pub fn client_capabilities(&self) -> &Value {
        &self.client_capabilities
    }

    /// Minimum level of `notifications/message` the client asked for (none until `logging/setLevel`).
    pub fn log_level(&self) -> Option<LogLevel> {
        self.log_level
    }

    /// Handle `initialize`: negotiate and move on, or refuse a second one.
    pub fn initialize(
        &mut self,
        params: &InitializeParams,
    ) -> Result<ProtocolVersion, ErrorObject> {
        if self.phase != Phase::AwaitingInitialize {
            return Err(ErrorObject::new(
                code::INVALID_REQUEST,
                "Invalid Request: session already initialized",
            ));
        }
        let version = ProtocolVersion::negotiate(&params.protocol_version);
        self.version = Some(version);
        self.client_info = Some(params.client_info.clone());
        self.client_capabilities = params.capabilities.clone();
        self.phase = Phase::Initializing;
        Ok(version)
    }

    /// Handle `notifications/initialized`.
    pub fn initialized(&mut self) {
        if self.phase == Phase::Initializing {
            self.phase = Phase::Ready;
        }
    }

    /// Whether a request with this method may run now. `ping` always may.
    pub fn admit(&self, method: &str) -> Result<ProtocolVersion, ErrorObject> {
        match self.version {
            Some(v) => Ok(v),
            None if method == "ping" => Ok(ProtocolVersion::LATEST_LEGACY),
            None => Err(ErrorObject::new(
                code::INVALID_REQUEST,
                format!(
                    "Invalid Request: session not initialized; send initialize before {method}"
                ),
            )),
        }
    }

    /// Handle `logging/setLevel`.
    pub fn set_log_level(&mut self, level: LogLevel) {
        self.log_level = Some(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(version: &str) -> InitializeParams {
        InitializeParams {
            protocol_version: version.into(),
            capabilities: Value::Object(Default::default()),
            client_info: Implementation {
                name: "t".into(),
                version: "1".into(),
                title: None,
            },
            meta: None,
        }
    }

    #[test]
    fn lifecycle() {
        let mut s = LegacySession::new();
        assert!(s.admit("tools/list").is_err());
        assert!(s.admit("ping").is_ok());
        assert_eq!(
            s.initialize(&init("2025-03-26")),
            Ok(ProtocolVersion::V2025_03_26)
        );
        assert_eq!(s.phase(), Phase::Initializing);
        assert!(s.admit("tools/list").is_ok());
        s.initialized();
        assert_eq!(s.phase(), Phase::Ready);
        assert!(s.initialize(&init("2025-03-26")).is_err());
    }
}
