-- Version 4: payout ledger and race proofs (SPEC section 12). Races finalized before
-- this version get their proofs (in the order they were finalized) and their pending
-- payouts from a step in Rust that runs right after this SQL, in the same transaction
-- (see db/migrate.rs): SQLite has no SHA-256.

-- One proof per final race. `seq` is the order races were finalized in: each proof's
-- `previous` is the digest of the proof before it (64 zeros for the first), so the
-- proofs form a chain. The text itself is rebuilt from `races` and `race_results`, so a
-- changed standing shows as a digest that no longer matches.
CREATE TABLE race_proofs (
    race_id  TEXT PRIMARY KEY REFERENCES races (race_id),
    seq      INTEGER NOT NULL UNIQUE,
    digest   TEXT NOT NULL,
    previous TEXT NOT NULL,
    made_at  TEXT NOT NULL
) STRICT;

-- Every prize of a final race on its way to the winner: pending -> approved -> paid
-- (with a reference) or void (with a reason). Written at finalization; changed only by
-- admins, each change audited in the same transaction.
CREATE TABLE race_payouts (
    race_id     TEXT NOT NULL REFERENCES races (race_id),
    uid         TEXT NOT NULL,
    prize_cents INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'void')),
    reference   TEXT,
    reason      TEXT,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (race_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX race_payouts_uid ON race_payouts (uid);
