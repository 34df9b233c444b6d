//! The durable revocation log: every revocation fact the durable store commits, numbered in
//! commit order, so that a replica holding the revocation state in memory can catch up on what
//! it may have missed by reading what follows the last number it merged.
//!
//! Numbers are dense and become visible in order: entry `n + 1` is never readable while entry
//! `n` is not. A reader that has merged everything up to `n` and then reads the entries after
//! `n` therefore misses nothing, unless the entries it needs were purged, which it is told.
//!
//! The backends write the log with database triggers (migrations `0009_revocation_log.sql`) and
//! read it back as [`LogEntry`] rows; what those rows mean, and what a read of them answers, is
//! decided here once ([`LogEntry::change`], [`LogRead::from_entries`]).

use crate::ids::{SessionId, UserId};
use crate::revocation::RevocationChange;
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// The entries that followed a position in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRead {
    /// The changes after the position, oldest first, and the number of the last entry read
    /// (the position itself when there were none). An entry a reader has no use for (a retired
    /// key whose id is no UUID, which never verified a token) is passed over but still counted,
    /// so more may follow exactly when `through` is `limit` past the position.
    Entries {
        changes: Vec<RevocationChange>,
        through: i64,
    },
    /// Some entries after the position were purged, or the position is past the newest entry
    /// (the log the reader followed is not this one): the reader must start over from a
    /// snapshot.
    Purged,
}

/// Reading the revocation log. Every backend writes it in the same transaction as the facts,
/// and the retention pass deletes its old entries.
#[async_trait]
pub trait RevocationLog: Send + Sync {
    /// The number of the newest committed entry (0 when the log has none). A reader that takes
    /// this *before* reading a [`crate::RevocationSnapshot`] can follow the log from here on
    /// without missing anything the snapshot lacks.
    async fn revocation_log_head(&self) -> StoreResult<i64>;
    /// At most `limit` entries (at least one) after `after`, oldest first.
    async fn revocation_log_since(&self, after: i64, limit: u32) -> StoreResult<LogRead>;
}

/// One stored entry as a backend reads it back: the kind's letter and the subject in the text
/// the triggers wrote, decoded here the same way for every backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its number in the log.
    pub epoch: i64,
    /// `v` a user's token version, `s` a denied session, `j` a denied jti, `k` a retired key.
    pub kind: String,
    /// The user id, session id, jti or kid.
    pub subject: String,
    /// The token version, for kind `v`.
    pub version: Option<i64>,
    /// Until when the denial holds, for kinds `s`, `j` and `k`.
    pub until: Option<OffsetDateTime>,
}

impl LogEntry {
    /// The change this entry records. `None` for a retired key whose id is no UUID, which the
    /// snapshot leaves out too: every kid Portcullis makes is one, so such a key never verified
    /// a token. An entry no trigger writes is a backend fault.
    pub fn change(&self) -> StoreResult<Option<RevocationChange>> {
        let subject = || Uuid::parse_str(&self.subject).map_err(|_| self.malformed());
        let until = || self.until.ok_or_else(|| self.malformed());
        let change = match (self.kind.as_str(), self.version) {
            ("v", Some(version)) => RevocationChange::TokenVersion {
                user: UserId(subject()?),
                version,
            },
            ("s", None) => RevocationChange::SessionDenied {
                session: SessionId(subject()?),
                until: until()?,
            },
            ("j", None) => RevocationChange::JtiDenied {
                jti: subject()?,
                until: until()?,
            },
            ("k", None) => match Uuid::parse_str(&self.subject) {
                Ok(kid) => RevocationChange::KeyRetired {
                    kid,
                    until: until()?,
                },
                Err(_) => return Ok(None),
            },
            _ => return Err(self.malformed()),
        };
        Ok(Some(change))
    }

    fn malformed(&self) -> StoreError {
        StoreError::Backend(
            format!(
                "revocation log entry {} of kind {:?} is malformed",
                self.epoch, self.kind
            )
            .into(),
        )
    }
}

impl LogRead {
    /// The answer to a read of the entries after `after`, from the `entries` found (oldest
    /// first) and the `head` read in the same snapshot. They must follow `after` without a gap:
    /// numbers are dense, so a missing one was purged, and so was every entry after `after`
    /// when none was found although the head is past it.
    pub fn from_entries(
        after: i64,
        head: i64,
        entries: impl IntoIterator<Item = LogEntry>,
    ) -> StoreResult<Self> {
        if after > head {
            return Ok(Self::Purged);
        }
        let mut changes = Vec::new();
        let mut through = after;
        for entry in entries {
            if Some(entry.epoch) != through.checked_add(1) {
                return Ok(Self::Purged);
            }
            through = entry.epoch;
            changes.extend(entry.change()?);
        }
        if through == after && head > after {
            return Ok(Self::Purged);
        }
        Ok(Self::Entries { changes, through })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const UNTIL: OffsetDateTime = datetime!(2026-06-01 00:15 UTC);
    const ID: &str = "5f0c6a4e-8a43-4d8e-9a53-1d1c3a7e9b21";

    fn entry(epoch: i64, kind: &str, subject: &str) -> LogEntry {
        let version = (kind == "v").then_some(3);
        LogEntry {
            epoch,
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            version,
            until: version.is_none().then_some(UNTIL),
        }
    }

    fn id() -> Uuid {
        Uuid::parse_str(ID).unwrap()
    }

    #[test]
    fn each_kind_decodes_to_its_change() {
        let simple_kid = id().simple().to_string();
        let cases = [
            (
                entry(1, "v", ID),
                Some(RevocationChange::TokenVersion {
                    user: UserId(id()),
                    version: 3,
                }),
            ),
            (
                entry(1, "s", ID),
                Some(RevocationChange::SessionDenied {
                    session: SessionId(id()),
                    until: UNTIL,
                }),
            ),
            (
                entry(1, "j", ID),
                Some(RevocationChange::JtiDenied {
                    jti: id(),
                    until: UNTIL,
                }),
            ),
            (
                entry(1, "k", &simple_kid),
                Some(RevocationChange::KeyRetired {
                    kid: id(),
                    until: UNTIL,
                }),
            ),
            (entry(1, "k", "an-operator-named-key"), None),
        ];
        for (entry, expected) in cases {
            assert_eq!(entry.change().ok(), Some(expected), "{entry:?}");
        }
    }

    #[test]
    fn an_entry_no_trigger_writes_is_a_backend_fault() {
        let cases = [
            ("an unknown kind", entry(1, "x", ID)),
            ("a session that is no uuid", entry(1, "s", "not-a-uuid")),
            ("a user that is no uuid", entry(1, "v", "not-a-uuid")),
            (
                "a version without its number",
                LogEntry {
                    version: None,
                    ..entry(1, "v", ID)
                },
            ),
            (
                "a denial without its end",
                LogEntry {
                    until: None,
                    ..entry(1, "j", ID)
                },
            ),
            (
                "a denial with a version",
                LogEntry {
                    version: Some(1),
                    ..entry(1, "s", ID)
                },
            ),
        ];
        for (name, entry) in cases {
            assert!(
                matches!(entry.change(), Err(StoreError::Backend(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn reads_table() {
        let jti = |epoch| entry(epoch, "j", ID);
        let denied = RevocationChange::JtiDenied {
            jti: id(),
            until: UNTIL,
        };
        let entries = |changes: usize, through| LogRead::Entries {
            changes: vec![denied; changes],
            through,
        };
        let cases: Vec<(&str, i64, i64, Vec<LogEntry>, LogRead)> = vec![
            ("nothing after the head", 7, 7, vec![], entries(0, 7)),
            (
                "an empty log read from the start",
                0,
                0,
                vec![],
                entries(0, 0),
            ),
            (
                "the entries that follow, through the last",
                4,
                9,
                vec![jti(5), jti(6)],
                entries(2, 6),
            ),
            (
                "a key the reader has no use for still moves the position",
                4,
                6,
                vec![jti(5), entry(6, "k", "an-operator-named-key")],
                entries(1, 6),
            ),
            (
                "the next entry is gone",
                4,
                9,
                vec![jti(6), jti(7)],
                LogRead::Purged,
            ),
            (
                "an entry in the middle is gone",
                4,
                9,
                vec![jti(5), jti(7)],
                LogRead::Purged,
            ),
            (
                "every entry after the position is gone",
                4,
                9,
                vec![],
                LogRead::Purged,
            ),
            (
                "a position past the head (another database)",
                12,
                9,
                vec![],
                LogRead::Purged,
            ),
        ];
        for (name, after, head, found, expected) in cases {
            let read = LogRead::from_entries(after, head, found);
            assert_eq!(read.ok(), Some(expected), "{name}");
        }
    }

    #[test]
    fn a_malformed_entry_fails_the_read() {
        let read = LogRead::from_entries(0, 1, [entry(1, "x", ID)]);
        assert!(matches!(read, Err(StoreError::Backend(_))));
    }
}
