-- The handshake that makes a revocation from the command line hold in a running server by the
-- time the command returns (embedded tier). The server keeps revocation state in memory and
-- merges commits made by other processes when it sees them; the command line cannot reach that
-- memory, so it posts a notice after its revocation has committed and waits until every running
-- server has acknowledged a notice at least as new, which a server does only after merging.

-- One row per revoking command; `seq` only grows.
CREATE TABLE revocation_notices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL
);

-- One row per in-memory copy of the revocation state (a running server; tests may run several
-- in one process). The command line waits only for rows whose process is still alive, so a
-- crashed server's row is ignored (and removed by the next server to start).
CREATE TABLE cache_followers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    acknowledged_seq INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
