//! `server/discover` (2026-07-28): what a stateless client asks instead of `initialize`.

use super::initialize::ServerCapabilities;
use super::meta::ResultEnvelope;
use serde::Serialize;

/// `server/discover` result.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoverResult {
    /// Every revision this server speaks, newest first.
    #[serde(rename = "supportedVersions")]
    pub supported_versions: Vec<&'static str>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Usage hints for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}
