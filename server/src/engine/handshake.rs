//! What the server says about itself: the legacy `initialize` result (shaped for the negotiated
//! revision by [`ringmcp_proto::downgrade`]) and the 2026-07-28 `server/discover` result. It reads
//! the registry; the lifecycle itself is the session's.

use super::McpService;
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::downgrade;
use ringmcp_proto::revision::{supported_versions, ProtocolVersion};
use ringmcp_proto::types::{DiscoverResult, InitializeResult, TASKS_EXTENSION};
use serde_json::json;

impl McpService {
    pub(super) fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        downgrade::initialize_result(
            version,
            self.registry.info().clone(),
            self.registry.capabilities(),
            self.registry.has_task_tools(),
            self.registry.instructions.clone(),
        )
    }

    pub(super) fn discover_result(&self, era: &Era) -> DiscoverResult {
        DiscoverResult {
            supported_versions: supported_versions(),
            capabilities: {
                let mut caps = self.registry.capabilities();
                if self.registry.has_task_tools() {
                    // Merged with what the registry declares (the skills extension).
                    match caps.extensions.as_mut().and_then(|e| e.as_object_mut()) {
                        Some(ext) => {
                            ext.insert(TASKS_EXTENSION.to_owned(), json!({}));
                        }
                        None => caps.extensions = Some(json!({ TASKS_EXTENSION: {} })),
                    }
                }
                caps
            },
            instructions: self.registry.instructions.clone(),
            envelope: self.shape.envelope(era, true),
        }
    }
}
