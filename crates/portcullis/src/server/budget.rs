//! How many client connections the process can afford: `max_connections`, but never more than
//! the soft file-descriptor limit leaves once the process's own files are set aside.

use rustix::process::{getrlimit, Resource};

/// The soft `RLIMIT_NOFILE`, or `None` when unlimited.
pub fn soft_file_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// The connection cap: `max_connections`, lowered so that `per_connection` descriptors for each
/// (two when a request may hold an upstream socket too) fit under `file_limit` after `reserved`.
/// At least one, so a misconfigured limit degrades service instead of refusing it entirely.
pub fn connection_cap(
    max_connections: usize,
    file_limit: Option<u64>,
    reserved: u64,
    per_connection: u64,
) -> usize {
    let Some(limit) = file_limit else {
        return max_connections.max(1);
    };
    let room = limit.saturating_sub(reserved) / per_connection.max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    max_connections.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_limit_lowers_the_cap_after_the_reserve() {
        assert_eq!(connection_cap(10_000, Some(1024), 74, 1), 950);
        assert_eq!(connection_cap(10_000, Some(1024), 74, 2), 475);
        assert_eq!(connection_cap(100, Some(1024), 74, 1), 100);
        assert_eq!(connection_cap(10_000, None, 74, 2), 10_000);
        assert_eq!(connection_cap(10_000, Some(50), 74, 1), 1);
    }
}
