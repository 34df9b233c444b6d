//! The text of the revocation stream's messages, written by the announce script and read by
//! every listener. One announcement is
//!
//! ```text
//! {generation} {epoch} {writer} {fact},{fact},...
//! ```
//!
//! where a fact is `v{user}:{version}`, `s{session}:{until}`, `j{jti}:{until}` or
//! `k{kid}:{until}` (ids as 32 hex digits, `until` in Unix ms). An acknowledgement is
//! `{generation} {epoch} {listener}`. Generation and replica names are single words the crate
//! makes itself; a message that does not read exactly so is refused, and the listener that
//! heard it stops vouching for its memory.

use portcullis_core::revocation_stream::{Announcement, Heard};
use portcullis_core::{RevocationChange, SessionId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of an announcement: its facts.
pub fn facts(changes: &[RevocationChange]) -> String {
    let fact = |change: &RevocationChange| match *change {
        RevocationChange::TokenVersion { user, version } => {
            format!("v{}:{version}", user.0.simple())
        }
        RevocationChange::SessionDenied { session, until } => {
            format!("s{}:{}", session.0.simple(), unix_ms(until))
        }
        RevocationChange::JtiDenied { jti, until } => {
            format!("j{}:{}", jti.simple(), unix_ms(until))
        }
        RevocationChange::KeyRetired { kid, until } => {
            format!("k{}:{}", kid.simple(), unix_ms(until))
        }
    };
    changes.iter().map(fact).collect::<Vec<_>>().join(",")
}

/// Reads an announcement; `None` unless it is exactly in the format above.
pub fn announcement(text: &str) -> Option<Heard> {
    let mut parts = text.splitn(4, ' ');
    let (generation, epoch, writer) = header(&mut parts)?;
    let body = parts.next()?;
    let changes = if body.is_empty() {
        Vec::new()
    } else {
        body.split(',').map(fact).collect::<Option<Vec<_>>>()?
    };
    Some(Heard::Announcement(Announcement {
        generation,
        epoch,
        writer,
        changes,
    }))
}

/// Reads an acknowledgement; `None` unless it is exactly in the format above.
pub fn acknowledgement(text: &str) -> Option<Heard> {
    let mut parts = text.splitn(3, ' ');
    let (generation, epoch, by) = header(&mut parts)?;
    Some(Heard::Acknowledged {
        generation,
        epoch,
        by,
    })
}

fn header<'a>(parts: &mut impl Iterator<Item = &'a str>) -> Option<(String, u64, String)> {
    let generation = word(parts.next()?)?;
    let epoch = number(parts.next()?)?;
    let who = word(parts.next()?)?;
    Some((generation, u64::try_from(epoch).ok()?, who))
}

/// A name the crate made: 1 to 64 ASCII letters, digits, `-` or `_`.
fn word(text: &str) -> Option<String> {
    let valid = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    valid.then(|| text.to_owned())
}

/// A decimal integer as Rust writes one: no sign for positives, no leading zeros.
fn number(text: &str) -> Option<i64> {
    let value: i64 = text.parse().ok()?;
    (value.to_string() == text).then_some(value)
}

fn fact(text: &str) -> Option<RevocationChange> {
    let kind = text.get(..1)?;
    let (id, value) = text.get(1..)?.split_once(':')?;
    if id.len() != 32
        || !id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let id = Uuid::parse_str(id).ok()?;
    let value = number(value)?;
    let until = || from_unix_ms(value);
    Some(match kind {
        "v" => RevocationChange::TokenVersion {
            user: UserId(id),
            version: value,
        },
        "s" => RevocationChange::SessionDenied {
            session: SessionId(id),
            until: until()?,
        },
        "j" => RevocationChange::JtiDenied {
            jti: id,
            until: until()?,
        },
        "k" => RevocationChange::KeyRetired {
            kid: id,
            until: until()?,
        },
        _ => return None,
    })
}

pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn change() -> impl Strategy<Value = RevocationChange> {
        let until = (-62_000_000_000_000i64..250_000_000_000_000)
            .prop_map(|ms| from_unix_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH));
        (0u8..4, any::<u128>(), any::<i64>(), until).prop_map(|(kind, id, version, until)| {
            let id = Uuid::from_u128(id);
            match kind {
                0 => RevocationChange::TokenVersion {
                    user: UserId(id),
                    version,
                },
                1 => RevocationChange::SessionDenied {
                    session: SessionId(id),
                    until,
                },
                2 => RevocationChange::JtiDenied { jti: id, until },
                _ => RevocationChange::KeyRetired { kid: id, until },
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn announcements_read_back_as_written(
            changes in proptest::collection::vec(change(), 0..20),
            epoch in 1u64..u64::from(u32::MAX),
        ) {
            let text = format!("gen-1 {epoch} writer_2 {}", facts(&changes));
            let expected = Heard::Announcement(Announcement {
                generation: "gen-1".into(),
                epoch,
                writer: "writer_2".into(),
                changes,
            });
            prop_assert_eq!(announcement(&text), Some(expected));
        }

        /// Whatever arrives, reading it never panics, and whatever reads as an announcement
        /// is written back to exactly the same text: no two spellings mean the same thing.
        /// The inputs are valid messages with one character replaced, inserted or deleted.
        #[test]
        fn anything_read_is_written_back_the_same(
            changes in proptest::collection::vec(change(), 1..3),
            at in any::<prop::sample::Index>(),
            edit in 0u8..3,
            byte in prop::sample::select(b"0123456789+- ,:vsjkAaf\t".to_vec()),
        ) {
            let mut text = format!("g 12 w {}", facts(&changes)).into_bytes();
            let at = at.index(text.len());
            match edit {
                0 => text[at] = byte,
                1 => text.insert(at, byte),
                _ => { text.remove(at); }
            }
            let text = String::from_utf8(text).unwrap_or_default();
            if let Some(Heard::Announcement(heard)) = announcement(&text) {
                let written = format!(
                    "{} {} {} {}", heard.generation, heard.epoch, heard.writer, facts(&heard.changes)
                );
                prop_assert_eq!(written, text);
            }
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let id = "0123456789abcdef0123456789abcdef";
        assert!(announcement(&format!("g 1 w v{id}:3")).is_some());
        assert!(announcement("g 1 w ").is_some());
        for bad in [
            format!("g 01 w v{id}:3"),
            format!("g -1 w v{id}:3"),
            format!("g 1 w v{id}:03"),
            format!("g 1 w x{id}:3"),
            format!("g 1 w v{}:3", id.to_uppercase()),
            format!("g 1 w v{id}:3,"),
            format!("g 1 w v{id}"),
            format!("g  1 w v{id}:3"),
            format!("g\t1 w v{id}:3"),
            "g 1 w".to_owned(),
            String::new(),
        ] {
            assert_eq!(announcement(&bad), None, "{bad:?}");
        }
        assert_eq!(
            acknowledgement("g 7 replica"),
            Some(Heard::Acknowledged {
                generation: "g".into(),
                epoch: 7,
                by: "replica".into()
            })
        );
        assert_eq!(acknowledgement("g 7 replica extra"), None);
        assert_eq!(acknowledgement("g 7"), None);
    }
}
