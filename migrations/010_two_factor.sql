-- Two-factor sign-in (TOTP, SPEC section 14). One secret per account, active once a
-- code from it was confirmed; never answered again after that.
CREATE TABLE account_totp (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,               -- base32
    created_at TEXT NOT NULL,
    enabled_at TEXT,                        -- NULL: enrolled, not confirmed yet
    last_step  INTEGER NOT NULL DEFAULT 0,  -- the newest 30-second step whose code was used
    failures   INTEGER NOT NULL DEFAULT 0,  -- wrong codes since failed_since
    failed_since TEXT
) STRICT;

-- Recovery codes: only a hash is stored; each works once.
CREATE TABLE totp_recovery_codes (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

-- The second factor of the sign-in that started a refresh-token family: 0 none, 1 a
-- TOTP or recovery code (kept while two-factor stays on), 2 first-run setup's code.
-- Its access tokens carry `mfa` while it holds.
ALTER TABLE refresh_tokens ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0;
