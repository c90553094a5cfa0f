-- Version 7: notifications to Discord and Telegram (SPEC §11). Every message to every
-- destination is a row: written when the event is seen, sent by the notifier worker
-- (retried with backoff), and kept as the record of what was delivered.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    destination     TEXT NOT NULL,            -- discord-1, discord-2, …, telegram
    kind            TEXT NOT NULL,            -- race_started | new_leader | final_day | results | test
    race_id         TEXT,
    -- One message per event and destination: "race_started:202611", "new_leader:202611:uid".
    dedupe          TEXT NOT NULL,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    http_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (destination, dedupe)
) STRICT;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

-- Name masking (race.name_masking): a verified owner may choose to show their name.
ALTER TABLE accounts ADD COLUMN show_name INTEGER NOT NULL DEFAULT 0;

-- A destination that answered 4xx: nothing more is sent to it until an admin sends a
-- test message (after fixing it) or it is removed from the configuration.
CREATE TABLE notify_paused (
    destination TEXT PRIMARY KEY,
    paused_at   TEXT NOT NULL,
    reason      TEXT NOT NULL
) STRICT;
