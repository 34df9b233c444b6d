//! Moments as an operator types them on the command line: an RFC 3339 time, a date (midnight
//! UTC), or an age counted back from now (`2h`, `7d`, `90m`). One parser, so every command
//! reads them alike and every error shows the three forms.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Reads `text` as a moment; ages count back from `now`.
pub fn parse_moment(text: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    if let Ok(day) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(day.midnight().assume_utc());
    }
    if let Ok(age) = humantime::parse_duration(text) {
        if let Some(at) = time::Duration::try_from(age)
            .ok()
            .and_then(|age| now.checked_sub(age))
        {
            return Ok(at);
        }
    }
    anyhow::bail!(
        "{text:?} is not a time: give an RFC 3339 time (2026-11-01T09:30:00Z), a date \
         (2026-11-01, midnight UTC) or an age counted back from now (2h, 7d)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    #[test]
    fn the_three_forms_read_as_moments() {
        let read = |text| parse_moment(text, NOW).ok();
        assert_eq!(
            read("2026-11-01T09:30:00Z"),
            Some(datetime!(2026-11-01 09:30 UTC))
        );
        assert_eq!(
            read("2026-11-01T09:30:00+01:00"),
            Some(datetime!(2026-11-01 08:30 UTC))
        );
        assert_eq!(read("2026-11-01"), Some(datetime!(2026-11-01 00:00 UTC)));
        assert_eq!(read("2h"), Some(datetime!(2026-11-29 10:00 UTC)));
        assert_eq!(read(" 7d "), Some(datetime!(2026-11-22 12:00 UTC)));
        assert_eq!(read("90m"), Some(datetime!(2026-11-29 10:30 UTC)));
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_it_accepts() {
        for text in [
            "yesterday",
            "2026-13-01",
            "",
            "-2h",
            "2026/11/01",
            "99999999999999d",
        ] {
            let error = parse_moment(text, NOW).expect_err(text).to_string();
            assert!(error.contains("2026-11-01T09:30:00Z"), "{error}");
            assert!(error.contains("2h"), "{error}");
        }
    }
}
