//! Log levels (RFC 5424 severities) for `logging/setLevel`, the per-request `logLevel` meta and
//! `notifications/message`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severity, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Debug detail.
    Debug,
    /// Informational.
    Info,
    /// Normal but significant.
    Notice,
    /// Warning.
    Warning,
    /// Error.
    Error,
    /// Critical.
    Critical,
    /// Action must be taken.
    Alert,
    /// System is unusable.
    Emergency,
}

/// `logging/setLevel` params.
#[derive(Debug, Clone, Deserialize)]
pub struct SetLevelParams {
    /// Minimum level to send.
    pub level: LogLevel,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<super::meta::RequestMeta>,
}

/// `notifications/message` params.
#[derive(Debug, Clone, Serialize)]
pub struct LoggingMessageParams {
    /// Severity.
    pub level: LogLevel,
    /// Logger name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// Any JSON.
    pub data: Value,
}
