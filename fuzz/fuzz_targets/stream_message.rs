//! The revocation stream's messages, as a listener reads them from Redis: never panic, and
//! anything read as an announcement is written back to exactly the bytes it was read from, so
//! no two spellings can carry the same facts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::revocation_stream::Heard;
use portcullis_store_redis::wire;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(Heard::Announcement(heard)) = wire::announcement(text) {
        let written = format!(
            "{} {} {} {}",
            heard.generation,
            heard.epoch,
            heard.writer,
            wire::facts(&heard.changes)
        );
        assert_eq!(written, text);
    }
    if let Some(Heard::Acknowledged { generation, epoch, by }) = wire::acknowledgement(text) {
        assert_eq!(format!("{generation} {epoch} {by}"), text);
    }
});
