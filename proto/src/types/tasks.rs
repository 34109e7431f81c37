//! Task states shared by the 2025-11-25 experimental tasks and the 2026-07-28 tasks extension.
//! The task machinery itself lands with the HTTP transport; this names its wire states.

use serde::{Deserialize, Serialize};

/// Lifecycle state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the client.
    InputRequired,
    /// Done with a result.
    Completed,
    /// Done with an error.
    Failed,
    /// Cancelled by the client.
    Cancelled,
}
