-- A sync writes only the players whose row its answer changes (most players are
-- unchanged between two syncs), so the column says when a player's row last changed,
-- not when an answer last listed them; `listed` says whether the last answer did.
-- Rows that exist now are taken as listed: the next sync quiets those it leaves out.
ALTER TABLE players RENAME COLUMN last_seen TO last_changed;
ALTER TABLE players ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
