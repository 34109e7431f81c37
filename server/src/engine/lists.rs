//! The four paginated lists (`tools/list`, `resources/list`, `resources/templates/list`,
//! `prompts/list`): one pager cuts the page, checks the cursor and builds the envelope; each list
//! only says which registry table it pages and how its result is named. It reads the registry
//! and writes answers; it must not change session state.

use super::reply::Sink;
use super::{Call, McpService};
use ringmcp_proto::downgrade;
use ringmcp_proto::pagination::ListKind;
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::{
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    ResultEnvelope,
};

impl McpService {
    /// Cut the page of `items` that `cursor` names and hand it to `answer` with the next cursor
    /// and the list's envelope; a bad cursor is answered with -32602.
    pub(super) fn page<T>(
        &self,
        sink: &Sink,
        call: &Call,
        kind: ListKind,
        items: &[T],
        cursor: Option<&str>,
        answer: impl FnOnce(&[T], Option<String>, ResultEnvelope),
    ) {
        // The caller took `items` from the set it just looked up: the same set, no second look.
        let digest = self.registry.borrow().digests.of(kind);
        match self
            .cursors
            .page(kind, digest, items, cursor, self.limits.page_size)
        {
            Ok((page, next_cursor)) => {
                answer(page, next_cursor, self.shape.envelope(&call.era, true))
            }
            Err(e) => sink.error(Some(&call.id), &e),
        }
    }

    pub(super) fn list_tools(&self, sink: &Sink, call: &Call, cursor: Option<&str>) {
        // Only 2025-11-25 lists `execution.taskSupport`.
        let tools = if call.version == ProtocolVersion::V2025_11_25 {
            &self.registry().tools_with_execution
        } else {
            &self.registry().tools
        };
        self.page(
            sink,
            call,
            ListKind::Tools,
            tools,
            cursor,
            |page, next_cursor, envelope| {
                // Older revisions get copies without the fields they do not know.
                let tools = downgrade::tools(page, call.version);
                sink.result(
                    &call.id,
                    &ListToolsResult {
                        tools: &tools,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }

    pub(super) fn list_resources(&self, sink: &Sink, call: &Call, cursor: Option<&str>) {
        self.page(
            sink,
            call,
            ListKind::Resources,
            &self.registry().resources,
            cursor,
            |resources, next_cursor, envelope| {
                sink.result(
                    &call.id,
                    &ListResourcesResult {
                        resources,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }

    pub(super) fn list_resource_templates(&self, sink: &Sink, call: &Call, cursor: Option<&str>) {
        self.page(
            sink,
            call,
            ListKind::ResourceTemplates,
            &self.registry().templates,
            cursor,
            |resource_templates, next_cursor, envelope| {
                sink.result(
                    &call.id,
                    &ListResourceTemplatesResult {
                        resource_templates,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }

    pub(super) fn list_prompts(&self, sink: &Sink, call: &Call, cursor: Option<&str>) {
        self.page(
            sink,
            call,
            ListKind::Prompts,
            &self.registry().prompts,
            cursor,
            |prompts, next_cursor, envelope| {
                sink.result(
                    &call.id,
                    &ListPromptsResult {
                        prompts,
                        next_cursor,
                        envelope,
                    },
                )
            },
        )
    }
}
