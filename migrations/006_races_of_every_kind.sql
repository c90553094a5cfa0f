-- Version 6: races of every kind (SPEC §9), standings from all_time snapshots, and data
-- that remembers its source.
--
-- The monthly race stays implicit (the calendar and `race.*` give it; an admin's
-- override lives in race_prizes). Weekly races are occurrences of a series, written as
-- rows of race_defs a week ahead; custom races are race_defs rows an admin wrote.

-- A weekly series: every week from `start_weekday` (ISO: 1 = Monday) at `start_hour`
-- (at race.timezone_offset_minutes) for seven days.
CREATE TABLE race_series (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    start_weekday    INTEGER NOT NULL CHECK (start_weekday BETWEEN 1 AND 7),
    start_hour       INTEGER NOT NULL CHECK (start_hour BETWEEN 0 AND 23),
    prize_pool_cents INTEGER NOT NULL,
    distribution     TEXT NOT NULL,            -- JSON array of shares
    min_wager_cents  INTEGER NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    source           TEXT NOT NULL CHECK (source IN ('live', 'demo')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;

-- Every race that is not the monthly one: its window [starts_at, ends_at) and its rules.
-- A race is edited or cancelled only before it starts.
CREATE TABLE race_defs (
    race_id          TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('weekly', 'custom')),
    name             TEXT NOT NULL,
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    prize_pool_cents INTEGER NOT NULL,
    distribution     TEXT NOT NULL,
    min_wager_cents  INTEGER NOT NULL,
    series_id        INTEGER REFERENCES race_series (id),
    cancelled_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX race_defs_ends ON race_defs (ends_at);

-- A race ranked by the difference of all_time: every player's all_time in the last
-- answer received before the race started (or, when none was, in the first answer
-- received inside it: race_snapshots.baseline_at says which). Written once per race.
CREATE TABLE race_baselines (
    race_id        TEXT NOT NULL,
    uid            TEXT NOT NULL,
    all_time_cents INTEGER NOT NULL,
    PRIMARY KEY (race_id, uid)
) STRICT, WITHOUT ROWID;

-- When the answer a race's baseline was taken from was received; NULL for a race ranked
-- by this_month. Later than the race's start: the race is tracked from then.
ALTER TABLE race_snapshots ADD COLUMN baseline_at TEXT;
-- Which source the snapshot's data came from (demo snapshots are replaced by live ones).
ALTER TABLE race_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'live';
UPDATE race_snapshots SET source = COALESCE(
    (SELECT source FROM sync_runs WHERE sync_runs.id = race_snapshots.sync_run_id), 'live');

-- Final results of every kind.
ALTER TABLE races ADD COLUMN kind TEXT NOT NULL DEFAULT 'monthly';
ALTER TABLE races ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE races ADD COLUMN source TEXT NOT NULL DEFAULT 'live';
ALTER TABLE races ADD COLUMN tracked_from TEXT;
CREATE INDEX races_end ON races (end_date);

-- Players and their samples remember their source. Before this version a live sync
-- after demo mode kept the simulated players: a player never seen at or after the
-- first successful live sync is a simulated one.
ALTER TABLE players ADD COLUMN source TEXT NOT NULL DEFAULT 'live';
ALTER TABLE player_history ADD COLUMN source TEXT NOT NULL DEFAULT 'live';
UPDATE players SET source = 'demo' WHERE NOT EXISTS (
    SELECT 1 FROM sync_runs WHERE source = 'live' AND outcome = 'success'
        AND started_at <= players.last_seen);
UPDATE player_history SET source = 'demo'
    WHERE uid IN (SELECT uid FROM players WHERE source = 'demo');
-- A final race whose sync is gone (pruned) was live if any live sync ever succeeded
-- before it was finalized.
UPDATE races SET source = COALESCE(
    (SELECT source FROM sync_runs WHERE sync_runs.id = races.sync_run_id),
    CASE WHEN EXISTS (SELECT 1 FROM sync_runs WHERE source = 'live' AND outcome = 'success'
                      AND started_at <= races.finalized_at) THEN 'live' ELSE 'demo' END);

-- The source of the data now stored, and when its last answer was received: a race
-- starting after that answer takes its baseline from the players table as it stands.
INSERT INTO settings (key, value, updated_at)
SELECT 'data.source', source, started_at FROM sync_runs
WHERE outcome = 'success' ORDER BY started_at DESC LIMIT 1;
INSERT INTO settings (key, value, updated_at)
SELECT 'data.received_at', COALESCE(finished_at, started_at), started_at FROM sync_runs
WHERE outcome = 'success' ORDER BY started_at DESC LIMIT 1;
