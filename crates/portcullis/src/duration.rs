//! Human-readable durations in configuration: "15m", "7d", "10s", or a bare number of seconds.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Seconds(u64),
    Text(String),
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(seconds) => Ok(Duration::from_secs(seconds)),
        Raw::Text(text) => humantime::parse_duration(text.trim()).map_err(|error| {
            serde::de::Error::custom(format!("invalid duration {text:?}: {error}"))
        }),
    }
}
