//! The one integration test binary: every test talks to a real server on 127.0.0.1:0
//! with its own temporary database.

mod access;
mod accounts;
mod alerts;
mod architecture;
mod browser;
mod cli;
mod database;
mod errors;
mod fake_upstream;
mod hardening;
mod health;
mod helpers;
mod limits;
mod masking;
mod month_boundary;
mod notify;
mod operations;
mod overlay;
mod payouts;
mod races;
mod read_api;
mod secrets;
mod sessions;
mod sync;
mod tls;
mod two_factor;
mod verification;
mod webdriver;
mod websocket;
