//! Revision downgrades: what a value loses on its way to a client speaking an older revision
//! (tool titles, output schemas and annotations, structured output, resource links and audio,
//! the completions capability), and the `initialize` result shaped for the negotiated revision.
//!
//! [`crate::revision`] says which revision has which feature; this module applies those answers
//! to values. Pure functions: no I/O, no clock.

use crate::revision::ProtocolVersion;
use crate::types::{
    CallToolResult, Content, Implementation, InitializeResult, ServerCapabilities, Tool,
};
use serde_json::json;
use std::borrow::Cow;

/// A copy of `tool` without the fields `version` does not know.
pub fn tool(tool: &Tool, version: ProtocolVersion) -> Tool {
    let mut t = tool.clone();
    if !version.has_structured_output() {
        t.title = None;
        t.output_schema = None;
    }
    if !version.has_audio_and_annotations() {
        t.annotations = None;
    }
    t
}

/// A page of tools as `version` sees it: borrowed as is where the revision knows every field,
/// copied and downgraded otherwise.
pub fn tools(page: &[Tool], version: ProtocolVersion) -> Cow<'_, [Tool]> {
    if version.has_structured_output() {
        Cow::Borrowed(page)
    } else {
        Cow::Owned(page.iter().map(|t| tool(t, version)).collect())
    }
}

/// Drop from a tool result what `version` does not know: structured output and resource links
/// before 2025-06-18, audio before 2025-03-26.
pub fn tool_result(result: &mut CallToolResult, version: ProtocolVersion) {
    if !version.has_structured_output() {
        result.structured_content = None;
        result
            .content
            .retain(|c| !matches!(c, Content::ResourceLink { .. }));
    }
    if !version.has_audio_and_annotations() {
        result
            .content
            .retain(|c| !matches!(c, Content::Audio { .. }));
    }
}

/// The `initialize` result for `version`: the server's title only from 2025-06-18, completions
/// only from 2025-03-26, and the experimental tasks capability on 2025-11-25 when some tool runs
/// as a task (`task_tools`).
pub fn initialize_result(
    version: ProtocolVersion,
    mut info: Implementation,
    mut capabilities: ServerCapabilities,
    task_tools: bool,
    instructions: Option<String>,
) -> InitializeResult {
    if !version.has_structured_output() {
        info.title = None;
    }
    if !version.has_audio_and_annotations() {
        capabilities.completions = None;
    }
    if version == ProtocolVersion::V2025_11_25 && task_tools {
        capabilities.tasks =
            Some(json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } }));
    }
    InitializeResult {
        protocol_version: version.as_str(),
        capabilities,
        server_info: info,
        instructions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolAnnotations;

    fn full_tool() -> Tool {
        Tool {
            name: "t".into(),
            title: Some("T".into()),
            description: None,
            input_schema: json!({ "type": "object" }),
            output_schema: Some(json!({ "type": "object" })),
            annotations: Some(ToolAnnotations::default()),
            execution: None,
        }
    }

    #[test]
    fn tools_keep_what_the_revision_knows() {
        let page = [full_tool()];
        assert!(matches!(
            tools(&page, ProtocolVersion::V2025_06_18),
            Cow::Borrowed(_)
        ));
        let t = tool(&page[0], ProtocolVersion::V2025_03_26);
        assert_eq!((t.title, t.output_schema), (None, None));
        assert!(t.annotations.is_some());
        let t = &tools(&page, ProtocolVersion::V2024_11_05)[0];
        assert!(t.title.is_none() && t.output_schema.is_none() && t.annotations.is_none());
    }

    #[test]
    fn tool_results_lose_unknown_content() {
        let audio = Content::Audio {
            data: String::new(),
            mime_type: "audio/wav".into(),
            annotations: None,
        };
        let link = Content::ResourceLink {
            uri: "file:///a".into(),
            name: "a".into(),
            mime_type: None,
            description: None,
        };
        let full = CallToolResult {
            content: vec![Content::text("x"), audio.clone(), link],
            structured_content: Some(json!({ "x": 1 })),
            is_error: None,
        };
        let mut r = full.clone();
        tool_result(&mut r, ProtocolVersion::V2025_06_18);
        assert_eq!(r, full);
        let mut r = full.clone();
        tool_result(&mut r, ProtocolVersion::V2025_03_26);
        assert_eq!(r.content, vec![Content::text("x"), audio]);
        assert!(r.structured_content.is_none());
        let mut r = full;
        tool_result(&mut r, ProtocolVersion::V2024_11_05);
        assert_eq!(r.content, vec![Content::text("x")]);
    }

    #[test]
    fn initialize_result_by_revision() {
        let info = Implementation {
            name: "s".into(),
            version: "1".into(),
            title: Some("S".into()),
        };
        let caps = ServerCapabilities {
            completions: Some(json!({})),
            ..ServerCapabilities::default()
        };
        let old = initialize_result(
            ProtocolVersion::V2024_11_05,
            info.clone(),
            caps.clone(),
            true,
            None,
        );
        assert_eq!(old.protocol_version, "2024-11-05");
        assert!(old.server_info.title.is_none());
        assert!(old.capabilities.completions.is_none() && old.capabilities.tasks.is_none());
        let tasks = initialize_result(
            ProtocolVersion::V2025_11_25,
            info.clone(),
            caps.clone(),
            true,
            Some("hi".into()),
        );
        assert_eq!(tasks.server_info.title.as_deref(), Some("S"));
        assert!(tasks.capabilities.completions.is_some() && tasks.capabilities.tasks.is_some());
        assert_eq!(tasks.instructions.as_deref(), Some("hi"));
        let no_tasks = initialize_result(ProtocolVersion::V2025_11_25, info, caps, false, None);
        assert!(no_tasks.capabilities.tasks.is_none());
    }
}
