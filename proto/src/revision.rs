//! MCP protocol revisions: which ones exist, which this crate speaks, how a legacy `initialize`
//! negotiates one, and which wire features each revision has.
//!
//! Revision-dependent behaviour elsewhere asks a [`ProtocolVersion`] (e.g. [`ProtocolVersion::allows_batches`])
//! instead of comparing date strings.

use std::fmt;

/// A protocol revision this implementation speaks. Ordered oldest to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05: HTTP+SSE era.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP, batches, audio content, tool annotations.
    V2025_03_26,
    /// 2025-06-18: structured tool output, elicitation, titles; no batches.
    V2025_06_18,
    /// 2025-11-25: icons, experimental tasks, input validation errors as tool results.
    V2025_11_25,
    /// 2026-07-28: stateless; per-request `_meta` replaces the handshake.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every revision, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];
    /// The revisions negotiated through `initialize`, oldest first.
    pub const LEGACY: [ProtocolVersion; 4] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
    ];
    /// Newest session-based revision: the answer to an `initialize` asking for one we do not know.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
    /// Newest revision.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The revision's date string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parse a date string; `None` for revisions this crate does not speak.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The legacy handshake: the requested revision when it is a legacy one we speak, otherwise
    /// the newest legacy revision (the client then decides whether to go on).
    pub fn negotiate(requested: &str) -> Self {
        match Self::parse(requested) {
            Some(v) if !v.is_modern() => v,
            _ => Self::LATEST_LEGACY,
        }
    }

    /// True for the stateless revision (no `initialize`).
    pub const fn is_modern(self) -> bool {
        matches!(self, ProtocolVersion::V2026_07_28)
    }

    /// JSON-RPC batches: only 2025-03-26 requires servers to accept them.
    pub const fn allows_batches(self) -> bool {
        matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// `structuredContent`, `outputSchema`, `title`, `resource_link` content (2025-06-18+).
    pub fn has_structured_output(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Tool argument validation failures are reported as `isError: true` results (2025-11-25+),
    /// not as JSON-RPC errors.
    pub fn validation_errors_as_tool_results(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Icons on tools, resources, prompts and implementation info (2025-11-25+).
    pub fn has_icons(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Audio content and tool annotations (2025-03-26+).
    pub fn has_audio_and_annotations(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// The error code for an unknown resource: -32602 on 2026-07-28, -32002 before.
    pub fn resource_not_found_code(self) -> i32 {
        if self.is_modern() {
            crate::jsonrpc::code::INVALID_PARAMS
        } else {
            crate::jsonrpc::code::RESOURCE_NOT_FOUND
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The supported revision strings, newest first (for error data and `server/discover`).
pub fn supported_versions() -> Vec<&'static str> {
    ProtocolVersion::ALL
        .iter()
        .rev()
        .map(|v| v.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(
            ProtocolVersion::negotiate("2025-03-26"),
            ProtocolVersion::V2025_03_26
        );
        assert_eq!(
            ProtocolVersion::negotiate("2024-11-05"),
            ProtocolVersion::V2024_11_05
        );
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::LATEST_LEGACY
        );
        assert_eq!(
            ProtocolVersion::negotiate("2026-07-28"),
            ProtocolVersion::LATEST_LEGACY
        );
        assert!(ProtocolVersion::V2025_03_26.allows_batches());
        assert!(!ProtocolVersion::V2025_06_18.allows_batches());
        assert!(!ProtocolVersion::V2024_11_05.allows_batches());
    }
}
