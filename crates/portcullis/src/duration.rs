//! Human-readable durations in configuration: "15m", "7d", "10s", or a bare number of seconds;
//! written back in the largest unit that divides them ("7d", "50ms"), which reads back the same.

use serde::{Deserialize, Deserializer, Serializer};
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

pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&text(*duration))
}

/// `duration` in the largest unit that divides it exactly: `7d`, `15m`, `50ms`, `0s`.
pub fn text(duration: Duration) -> String {
    const UNITS: [(&str, u128); 7] = [
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    UNITS
        .iter()
        .find(|(_, size)| nanos.is_multiple_of(*size))
        .map_or_else(
            || format!("{nanos}ns"),
            |(unit, size)| format!("{}{unit}", nanos / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_is_written_in_its_largest_whole_unit_and_reads_back_the_same() {
        for (duration, written) in [
            (Duration::from_secs(7 * 86_400), "7d"),
            (Duration::from_secs(90 * 86_400), "90d"),
            (Duration::from_secs(900), "15m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(50), "50ms"),
            (Duration::from_millis(1_500), "1500ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(text(duration), written);
            assert_eq!(
                humantime::parse_duration(written),
                Ok(duration),
                "{written}"
            );
        }
    }
}
