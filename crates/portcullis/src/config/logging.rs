//! The `log_format` key: how log lines are written.

use serde::{Deserialize, Serialize};

/// `text` (human-readable) or `json` (one object a line, for SIEM ingestion); lower case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}
