-- goated's schema. Applied as a whole to a new database; later versions are numbered
-- upgrade steps in src/db/migrate.rs, tracked in PRAGMA user_version.
-- Times are RFC 3339 UTC text with milliseconds ('2026-11-23T10:00:00.000Z'), which
-- sorts in time order. Money is kept as the upstream sends it (REAL dollars) for player
-- buckets, and in whole cents (INTEGER) wherever it is ranked or paid.

-- Small key/value settings that must survive restarts: the generated JWT secret, the
-- upstream token replaced at run time, ...
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- The persistent cache: what must survive a restart (the last good upstream payload,
-- prepared answers). Rows with an expiry are pruned by housekeeping.
CREATE TABLE cache (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT
) STRICT;

-- Every referred player the upstream has listed, with the latest buckets it reported.
CREATE TABLE players (
    uid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    today      REAL NOT NULL DEFAULT 0,
    this_week  REAL NOT NULL DEFAULT 0,
    this_month REAL NOT NULL DEFAULT 0,
    all_time   REAL NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL
) STRICT;
CREATE INDEX players_name ON players (name COLLATE NOCASE);

-- One sample a player a day (the last sync of that day wins), for profile charts.
CREATE TABLE player_history (
    uid        TEXT NOT NULL,
    day        TEXT NOT NULL,
    today      REAL NOT NULL,
    this_week  REAL NOT NULL,
    this_month REAL NOT NULL,
    all_time   REAL NOT NULL,
    PRIMARY KEY (uid, day)
) STRICT, WITHOUT ROWID;

-- Every sync attempt and how it ended.
CREATE TABLE sync_runs (
    id           INTEGER PRIMARY KEY,
    trigger      TEXT NOT NULL,            -- schedule | month_end | forced | cli | startup
    source       TEXT NOT NULL,            -- live | demo
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT NOT NULL,            -- running | success | suspect | failed | skipped
    error_class  TEXT,                     -- temporary | authentication | rate_limit | permanent | payload | circuit_open
    attempts     INTEGER NOT NULL DEFAULT 0,
    http_status  INTEGER,
    received     INTEGER,
    accepted     INTEGER,
    rejected     INTEGER,
    duration_ms  INTEGER,
    race_id      TEXT,
    error        TEXT
) STRICT;
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- The live standings of a race: this_month of every player with a wager, from the
-- last successful sync that started inside the race's month. Replaced at each such sync.
CREATE TABLE race_snapshots (
    race_id        TEXT PRIMARY KEY,
    sync_run_id    INTEGER NOT NULL REFERENCES sync_runs (id),
    sync_started_at TEXT NOT NULL
) STRICT;
CREATE TABLE race_snapshot_entries (
    race_id       TEXT NOT NULL REFERENCES race_snapshots (race_id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    name          TEXT NOT NULL,
    wagered_cents INTEGER NOT NULL,
    PRIMARY KEY (race_id, uid)
) STRICT, WITHOUT ROWID;

-- Admin overrides of a race's prizes.
CREATE TABLE race_prizes (
    race_id            TEXT PRIMARY KEY,
    prize_pool_cents   INTEGER NOT NULL,
    distribution       TEXT NOT NULL,     -- JSON array of shares
    updated_at         TEXT NOT NULL,
    updated_by         TEXT
) STRICT;

-- Final results, written once when a race's month ends and never recomputed.
CREATE TABLE races (
    race_id            TEXT PRIMARY KEY,
    start_date         TEXT NOT NULL,
    end_date           TEXT NOT NULL,
    prize_pool_cents   INTEGER NOT NULL,
    distribution       TEXT NOT NULL,
    min_wager_cents    INTEGER NOT NULL,
    participant_count  INTEGER NOT NULL,
    total_wagered_cents INTEGER NOT NULL,
    sync_run_id        INTEGER,             -- the sync whose data was final; NULL when none ran
    sync_started_at    TEXT,
    finalized_at       TEXT NOT NULL
) STRICT;
CREATE TABLE race_results (
    race_id       TEXT NOT NULL REFERENCES races (race_id),
    uid           TEXT NOT NULL,
    name          TEXT NOT NULL,
    seq           INTEGER NOT NULL,       -- listing order (ties by name, then uid)
    position      INTEGER NOT NULL,
    wagered_cents INTEGER NOT NULL,
    prize_cents   INTEGER NOT NULL,
    PRIMARY KEY (race_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX race_results_uid ON race_results (uid);

-- Site accounts. usernames are unique ignoring case (username_key is the lowercase
-- form); a verified account is linked to at most one Goated player, and a player to
-- at most one account.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    email         TEXT UNIQUE,             -- lowercase
    password_hash TEXT NOT NULL,           -- argon2id PHC string
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    goated_uid    TEXT UNIQUE,
    bio           TEXT NOT NULL DEFAULT '',
    profile_color TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- Refresh tokens: only a hash is stored. Each login starts a family; each refresh uses
-- one token up and issues the next. Presenting a used token again revokes the family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    family     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

-- Claims of Goated players by accounts, and what an admin decided.
CREATE TABLE verification_requests (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    goated_uid  TEXT NOT NULL,
    goated_name TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    decided_by  INTEGER REFERENCES accounts (id),
    note        TEXT
) STRICT;
CREATE UNIQUE INDEX verification_one_pending ON verification_requests (account_id) WHERE status = 'pending';

-- Every admin action: who, from where, what.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,               -- account:<id> | signed-request
    client_ip TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT
) STRICT;
