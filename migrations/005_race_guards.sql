-- Version 5: a race remembers when it saw the upstream reset its period inside the race's
-- window (most amounts went down at once). From then on the race keeps its last
-- standings from before the reset and takes no later answer (domain/snapshot.rs).
ALTER TABLE race_snapshots ADD COLUMN reset_seen_at TEXT;
