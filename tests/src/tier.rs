//! Which storage tier the suite runs against (`TEST_TIER`), and the per-test resources of each:
//! a temporary data directory for the embedded tier.

/// The storage tier under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Embedded,
}

pub fn tier() -> Tier {
    match std::env::var("TEST_TIER").as_deref() {
        Ok("embedded") | Err(_) => Tier::Embedded,
        Ok(other) => panic!("TEST_TIER={other:?} is not a tier this suite knows (use embedded)"),
    }
}
