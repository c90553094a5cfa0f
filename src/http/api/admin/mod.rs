//! `/api/admin/*`: reachable only from `admin.allowed_ips` (checked by the gate before
//! routing), only for accounts the database says are admins, and for the sensitive
//! writes (sync, cache flush, token replacement) also by signed request. Every action
//! is audited.
//!
//! One module per sub-resource: [`operations`] (claims waiting, sync, runs, cache),
//! [`upstream`] (the token), [`prizes`] (the monthly race's prizes), [`races`] (custom
//! races and weekly series), [`notifications`] and [`analytics`]. Payouts, which
//! winners read too, are `api::payouts`.

pub mod analytics;
pub mod notifications;
pub mod operations;
pub mod prizes;
pub mod races;
pub mod upstream;
