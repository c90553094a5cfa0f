//! Shapes shared by several endpoints, and the helpers that turn views into answers.

use poem::http::HeaderValue;
use poem_openapi::Object;
use poem_openapi::types::{ToJSON, Type};

use crate::http::cache::Prepared;
use crate::http::envelope::{SyncMetadata, envelope_bytes};
use crate::http::state::AppState;
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

/// An optional field of a request body: given, or left out — never `null`, since the
/// published schema does not make any field nullable (poem-openapi's `Option` would
/// read `null` as "left out" and accept what the schema calls invalid).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Omittable<T>(pub Option<T>);

impl<T: poem_openapi::types::Type> poem_openapi::types::Type for Omittable<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> std::borrow::Cow<'static, str> {
        <Option<T> as poem_openapi::types::Type>::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(|v| v.as_raw_value())
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(v) => v.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: poem_openapi::types::ParseFromJSON> poem_openapi::types::ParseFromJSON for Omittable<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        use poem_openapi::types::ParseError;
        match value {
            None => Ok(Omittable(None)),
            Some(serde_json::Value::Null) => Err(ParseError::custom(
                "null is not allowed; leave the field out instead",
            )),
            Some(v) => T::parse_from_json(Some(v))
                .map(|v| Omittable(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: poem_openapi::types::ToJSON> poem_openapi::types::ToJSON for Omittable<T> {
    fn to_json(&self) -> Option<serde_json::Value> {
        self.0.as_ref().and_then(|v| v.to_json())
    }
}

/// A string field of a request body, strictly a JSON string: poem-openapi's `String`
/// also takes numbers and booleans (`5` → `"5"`), which the published schema calls
/// invalid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl Omittable<Text> {
    /// The string, when given.
    pub fn text(self) -> Option<String> {
        self.0.map(|t| t.0)
    }
}

impl std::ops::Deref for Text {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}

impl poem_openapi::types::Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> std::borrow::Cow<'static, str> {
        <String as poem_openapi::types::Type>::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <String as poem_openapi::types::Type>::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl poem_openapi::types::ParseFromJSON for Text {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(Text(s)),
            other => Err(poem_openapi::types::ParseError::expected_type(
                other.unwrap_or_default(),
            )),
        }
    }
}

impl poem_openapi::types::ToJSON for Text {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}
