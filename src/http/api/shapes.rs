//! Shapes shared by several endpoints, and the helpers that turn views into answers.

use poem::http::HeaderValue;
use poem_openapi::Object;
use poem_openapi::types::{ToJSON, Type};

use crate::app::AppState;
use crate::http::cache::Prepared;
use crate::http::envelope::{SyncMetadata, envelope_bytes};
use crate::read::DataVersion;

/// Amounts per period, in dollars.
#[derive(Debug, Clone, Object)]
pub struct PeriodAmounts {
    pub today: f64,
    pub this_week: f64,
    pub this_month: f64,
    pub all_time: f64,
}

/// Positions per period; null where the player has no wager in that period.
#[derive(Debug, Clone, Object)]
pub struct PeriodRanks {
    #[oai(skip_serializing_if_is_none)]
    pub today: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub this_week: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub this_month: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub all_time: Option<u32>,
}

#[derive(Debug, Clone, Object)]
pub struct Pagination {
    /// From 1.
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub pages: u64,
}

impl Pagination {
    pub fn new(page: u32, limit: u32, total: usize) -> Self {
        Pagination {
            page,
            limit,
            total: total as u64,
            pages: (total as u64).div_ceil(u64::from(limit)),
        }
    }

    /// The index range of this page within `total` items (empty past the end).
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = (self.page as usize - 1)
            .saturating_mul(self.limit as usize)
            .min(self.total as usize);
        start..(start + self.limit as usize).min(self.total as usize)
    }
}

/// Declares a `{results, pagination}` object for one item type.
macro_rules! paginated {
    ($name:ident, $item:ty) => {
        #[derive(Debug, Clone, poem_openapi::Object)]
        pub struct $name {
            pub results: Vec<$item>,
            pub pagination: $crate::http::api::shapes::Pagination,
        }
    };
}
pub(crate) use paginated;

pub const DEFAULT_PAGE_LIMIT: u32 = 30;

/// How many items come before page `page` (from 1) of `limit` items.
pub fn offset(page: u32, limit: u32) -> i64 {
    i64::from(page.saturating_sub(1)) * i64::from(limit)
}

pub fn default_page() -> u32 {
    1
}

pub fn default_page_limit() -> u32 {
    DEFAULT_PAGE_LIMIT
}

pub fn money(cents: crate::domain::Cents) -> f64 {
    cents.to_dollars()
}

/// How fresh the data is, for answers derived from syncs.
pub fn sync_metadata(state: &AppState) -> SyncMetadata {
    let sync = state.sync.read();
    SyncMetadata {
        last_synced_at: sync.last_synced_at().map(crate::db::timestamp),
        stale: sync.is_stale(state.clock.now()),
        source: sync.source.as_str().to_string(),
    }
}

/// An envelope with freshness metadata, whose ETag ignores when it was synced.
pub fn prepare_with_metadata<T: ToJSON + Type>(data: &T, meta: &SyncMetadata) -> Prepared {
    let identity = SyncMetadata {
        last_synced_at: None,
        ..meta.clone()
    };
    Prepared::new(
        envelope_bytes(data, Some(meta)),
        &envelope_bytes(data, Some(&identity)),
    )
}

/// An envelope whose ETag stands for its whole body.
pub fn prepare<T: ToJSON + Type>(data: &T) -> Prepared {
    Prepared::whole(envelope_bytes(data, None))
}

/// Short lifetimes while data is fresh; longer while the upstream is failing, since
/// nothing new will come sooner.
pub fn cache_control(version: &DataVersion) -> HeaderValue {
    if version.stale {
        HeaderValue::from_static("public, max-age=60, stale-while-revalidate=600")
    } else {
        HeaderValue::from_static("public, max-age=15, stale-while-revalidate=60")
    }
}

/// For answers that never change once written (finished races).
pub fn cache_control_final() -> HeaderValue {
    HeaderValue::from_static("public, max-age=300, stale-while-revalidate=3600")
}

pub fn ttl(version: &DataVersion) -> std::time::Duration {
    std::time::Duration::from_secs(if version.stale { 600 } else { 60 })
}
