-- Version 2: usage analytics, rolled up by hour. `hour` is the Unix time (seconds) of
-- the start of a UTC hour. Routes are route templates (e.g. /api/users/{id}), never raw
-- paths, so the tables stay small whatever clients send.

-- Requests per endpoint and hour. `latency` is a JSON array of counts per latency
-- bucket (bucket i holds requests up to 50 µs × 2^(i/2); the last one, everything
-- slower), so p50/p95 can be computed for any range by adding histograms.
CREATE TABLE analytics_requests (
    hour          INTEGER NOT NULL,
    route         TEXT    NOT NULL,
    requests      INTEGER NOT NULL,
    client_errors INTEGER NOT NULL,
    server_errors INTEGER NOT NULL,
    latency       TEXT    NOT NULL,
    PRIMARY KEY (hour, route)
) WITHOUT ROWID;

-- Requests made with a valid access token, per account and hour. No foreign key: a
-- flush must never fail because of what one row refers to.
CREATE TABLE analytics_accounts (
    hour       INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    PRIMARY KEY (hour, account_id)
) WITHOUT ROWID;

-- The answer cache's hits and misses per hour.
CREATE TABLE analytics_cache (
    hour       INTEGER NOT NULL,
    cache      TEXT    NOT NULL,
    hits       INTEGER NOT NULL,
    misses     INTEGER NOT NULL,
    stale_hits INTEGER NOT NULL,
    PRIMARY KEY (hour, cache)
) WITHOUT ROWID;
