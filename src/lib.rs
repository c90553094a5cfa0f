//! goated: live wager races (monthly, weekly, custom) for a Goated.com affiliate.
//!
//! Layout, outermost first:
//! - [`cli`]: the command line; [`app`]: assembling and running the service;
//! - [`http`]: routes, the OpenAPI-documented JSON API, static pages, middleware;
//! - [`domain`]: pure race logic (calendar, ranking, prizes, payload validation);
//! - [`read`]: the read side, public views computed once per data version;
//! - [`db`]: SQLite storage, one function per query;
//! - [`races`]: races of every kind (which exist, which are live, finalization, what
//!   admins change), over `domain::races` and `db`;
//! - [`sync`]: the sync pipeline; [`scheduler`]: the thread that runs it and finalizes
//!   races; [`status`]: what the last syncs did, shared with readers;
//!   [`upstream`]: the Goated.com client and the demo simulator;
//! - [`notify`]: Discord and Telegram messages about races, queued and sent off the sync;
//! - [`analytics`]: usage analytics, counted in memory and kept in SQLite by the hour;
//! - [`auth`]: passwords, access tokens, login throttling, signed admin requests;
//! - [`config`]: layered configuration; [`clock`]: time, replaceable in tests;
//!   [`events`]: what happened, for listeners; [`gzip`]: compressing into memory.

pub mod accounts;
pub mod analytics;
pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod gzip;
pub mod http;
pub mod notify;
pub mod races;
pub mod read;
pub mod scheduler;
pub mod status;
pub mod sync;
pub mod telemetry;
pub mod upstream;
