//! Pure product logic: no I/O, no HTTP, no SQL. Everything here is deterministic and
//! tested on its own.

pub mod accounts;
pub mod announce;
pub mod calendar;
pub mod histogram;
pub mod ids;
pub mod masking;
pub mod money;
pub mod payouts;
pub mod prizes;
pub mod proof;
pub mod races;
pub mod ranking;
pub mod runs;
pub mod snapshot;
pub mod text;
pub mod transform;

pub use calendar::{RaceId, RaceStatus};
pub use money::Cents;
