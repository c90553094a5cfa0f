-- Version 3 (hardening): nonces of signed admin requests, kept for their whole window so
-- that a request replayed after a restart is still refused. `forget_at` is Unix seconds after
-- which the timestamp check alone refuses the request, so the row can go.
CREATE TABLE signed_nonces (
    nonce     TEXT    PRIMARY KEY,
    forget_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Each account's session epoch: `goated admin create` on an existing account ends its
-- sessions by moving it on, which refuses the 15-minute access tokens issued before
-- (they carry the epoch they were issued in), not only the refresh tokens.
ALTER TABLE accounts ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
