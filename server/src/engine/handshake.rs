//! What the server says about itself: the legacy `initialize` result (shaped for the negotiated
//! revision by [`ringmcp_proto::downgrade`]) and the 2026-07-28 `server/discover` result. It reads
//! the registry; the lifecycle itself is the session's.

use super::McpService;
use crate::sdk::Registry;
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::downgrade;
use ringmcp_proto::revision::{supported_versions, ProtocolVersion};
use ringmcp_proto::types::{DiscoverResult, InitializeResult, ServerCapabilities, TASKS_EXTENSION};
use serde_json::json;

impl McpService {
    pub(super) fn initialize_result(&self, version: ProtocolVersion) -> InitializeResult {
        let registry = self.registry();
        downgrade::initialize_result(
            version,
            registry.info().clone(),
            self.capabilities(&registry),
            registry.has_task_tools(),
            registry.instructions.clone(),
        )
    }

    pub(super) fn discover_result(&self, era: &Era) -> DiscoverResult {
        let registry = self.registry();
        DiscoverResult {
            supported_versions: supported_versions(),
            capabilities: {
                let mut caps = self.capabilities(&registry);
                if registry.has_task_tools() {
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
            instructions: registry.instructions.clone(),
            envelope: self.shape.envelope(era, true),
        }
    }

    /// What the set offers; a live set also says its lists may change.
    fn capabilities(&self, registry: &Registry) -> ServerCapabilities {
        let mut caps = registry.capabilities();
        if self.lists_may_change() {
            for list in [&mut caps.tools, &mut caps.prompts].into_iter().flatten() {
                list.list_changed = true;
            }
            if let Some(resources) = &mut caps.resources {
                resources.list_changed = true;
            }
        }
        caps
    }
}
