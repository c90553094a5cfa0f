//! Use cases of accounts that change what is stored: registration (unique names and
//! emails), sessions (refresh-token rotation, reuse detection, signing out) and claims
//! (an account claiming a Goated player, an admin deciding). Each takes the caller's
//! transaction and answers with its own error; the HTTP layer maps those to answers
//! once.

pub mod claims;
pub mod registration;
pub mod sessions;
pub mod setup;
pub mod two_factor;
