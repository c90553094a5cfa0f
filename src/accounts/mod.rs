//! Use cases of accounts that change what is stored: sessions (refresh-token rotation,
//! reuse detection, signing out). Each takes the caller's transaction and answers with
//! its own error; the HTTP layer maps those to answers once.

pub mod sessions;
