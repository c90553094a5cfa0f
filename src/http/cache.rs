//! Ready-to-send answers in memory. Keys carry the data version, so a sync landing (or
//! anything else that changes the data) makes new keys and old answers are never
//! served as new. Within a version, an entry past its time-to-live is still served
//! while one background refresh runs (stale-while-revalidate). Concurrent misses of
//! one key compute it once.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use poem::http::{HeaderMap, HeaderValue};
use poem::web::headers::ETag;

use super::error::ApiResult;
use crate::analytics::CacheStats;

/// How many bytes of answers are kept (bodies and keys): bounded by size, not count,
/// since one answer is anything from a few hundred bytes to ~100 KB (`limit=1000`).
pub const CAPACITY_BYTES: u64 = 8 * 1024 * 1024;
/// What an entry costs besides its bytes: the entry, its ETag, its key's allocation,
/// and the two heads it may make (whole and gzipped, [`HEAD_BYTES`] each).
const ENTRY_OVERHEAD: u64 = 256 + 2 * HEAD_BYTES;
/// About what a prepared head holds: ten headers of ~110 bytes each and the map's index.
const HEAD_BYTES: u64 = 1536;

/// Weighs an answer by its size.
#[derive(Clone, Copy)]
struct BySize;

impl quick_cache::Weighter<String, Arc<Prepared>> for BySize {
    fn weight(&self, key: &String, answer: &Arc<Prepared>) -> u64 {
        (key.len() + answer.body.len() + answer.gzip.as_ref().map_or(0, |g| g.len())) as u64
            + ENTRY_OVERHEAD
    }
}

#[derive(Debug)]
pub struct Prepared {
    pub body: Bytes,
    /// The body gzipped, made when the answer entered the cache (see `compress`).
    pub gzip: Option<Bytes>,
    pub etag: String,
    /// The ETag ready for the header and for comparing with `If-None-Match`, so no
    /// request parses it again.
    pub etag_header: HeaderValue,
    pub etag_tag: ETag,
    /// The answer's head as nearly every request gets it (200, whole or gzipped), with
    /// the cache policy it was made for: made by the first such request, cloned by the
    /// rest (see `envelope::Success::prepared`).
    pub heads: [OnceLock<(HeaderValue, HeaderMap)>; 2],
    made: Instant,
}

impl Prepared {
    /// `identity` is what the ETag stands for: the data, without the moment it was
    /// synced, so a sync that changed nothing keeps the ETag.
    pub fn new(body: Vec<u8>, identity: &[u8]) -> Self {
        let hash = hash_of(identity);
        Self::with_hash(body, hash)
    }

    /// An answer whose ETag stands for all of its bytes.
    pub fn whole(body: Vec<u8>) -> Self {
        let hash = hash_of(&body);
        Self::with_hash(body, hash)
    }

    fn with_hash(body: Vec<u8>, hash: u64) -> Self {
        let etag = format!("W/\"{hash:016x}\"");
        Prepared {
            body: Bytes::from(body),
            gzip: None,
            etag_header: HeaderValue::from_str(&etag).expect("hex is a valid header"),
            etag_tag: etag.parse().expect("a weak quoted hex tag is a valid ETag"),
            etag,
            heads: Default::default(),
            made: Instant::now(),
        }
    }
}

impl Prepared {
    /// The same answer with its gzipped body: done once, when it enters the cache.
    pub fn compressed(mut self) -> Self {
        self.gzip = super::compress::gzip(&self.body);
        self
    }
}

fn hash_of(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// The key of the one answer kept in a [`HotSlot`]: plain numbers (the data version,
/// then what names the answer), compared without building or hashing a text key.
pub type HotKey = [i64; 6];

/// A hot slot's key: the data version, then three numbers naming the answer.
pub fn hot_key(version: &crate::read::DataVersion, names: [i64; 3]) -> HotKey {
    let [a, b, c] = names;
    [
        version.sync_run,
        i64::from(version.stale),
        version.generation as i64,
        a,
        b,
        c,
    ]
}

/// One answer kept beside the cache for one of the hottest reads (the live race with
/// its defaults, the leaderboard page asked last), so that asking for it again costs a
/// comparison. It holds what the cache
/// gave, and is checked against the same time-to-live: past it, the read goes through
/// the cache again (which refreshes in the background as for any entry).
#[derive(Default)]
pub struct HotSlot {
    entry: Mutex<Option<(HotKey, Arc<Prepared>)>>,
}

impl HotSlot {
    pub fn get(&self, key: &HotKey, ttl: Duration, stats: &CacheStats) -> Option<Arc<Prepared>> {
        let entry = self.entry.lock();
        let (held, prepared) = entry.as_ref()?;
        if held == key && prepared.made.elapsed() < ttl {
            stats.hits.fetch_add(1, Ordering::Relaxed);
            Some(prepared.clone())
        } else {
            None
        }
    }

    pub fn put(&self, key: HotKey, prepared: Arc<Prepared>) {
        *self.entry.lock() = Some((key, prepared));
    }
}

pub struct ResponseCache {
    name: &'static str,
    /// The live race's default answer (see [`HotSlot`]).
    pub hot: HotSlot,
    /// The leaderboard page asked for last: on stream, nearly every viewer asks for
    /// the same one.
    pub hot_page: HotSlot,
    entries: quick_cache::sync::Cache<String, Arc<Prepared>, BySize>,
    refreshing: Mutex<HashSet<String>>,
    pub stats: CacheStats,
}

impl ResponseCache {
    pub fn new(name: &'static str) -> Self {
        ResponseCache {
            name,
            entries: quick_cache::sync::Cache::with_weighter(2048, CAPACITY_BYTES, BySize),
            refreshing: Mutex::new(HashSet::new()),
            stats: CacheStats::default(),
            hot: HotSlot::default(),
            hot_page: HotSlot::default(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub async fn get_or_make<F, Fut>(
        self: &Arc<Self>,
        key: String,
        ttl: Duration,
        make: F,
    ) -> ApiResult<Arc<Prepared>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ApiResult<Prepared>> + Send + 'static,
    {
        if let Some(found) = self.entries.get(&key) {
            if found.made.elapsed() < ttl {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
            } else {
                self.stats.stale_hits.fetch_add(1, Ordering::Relaxed);
                self.refresh_in_background(key, make);
            }
            return Ok(found);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        self.entries
            .get_or_insert_async(&key, async move {
                make().await.map(|p| Arc::new(p.compressed()))
            })
            .await
    }

    fn refresh_in_background<F, Fut>(self: &Arc<Self>, key: String, make: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ApiResult<Prepared>> + Send + 'static,
    {
        if !self.refreshing.lock().insert(key.clone()) {
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            if let Ok(fresh) = make().await {
                cache
                    .entries
                    .insert(key.clone(), Arc::new(fresh.compressed()));
            }
            cache.refreshing.lock().remove(&key);
        });
    }

    /// The bytes the kept answers weigh (bodies, keys and overhead).
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }

    /// Drops entries whose key starts with `prefix` (all for ""); returns how many.
    pub fn flush(&self, prefix: &str) -> usize {
        *self.hot.entry.lock() = None;
        *self.hot_page.entry.lock() = None;
        let before = self.entries.len();
        self.entries.retain(|k, _| !k.starts_with(prefix));
        before - self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn the_hot_slot_answers_only_its_own_key_while_young_and_a_flush_empties_it() {
        let cache = ResponseCache::new("test");
        let answer = Arc::new(Prepared::new(b"{}".to_vec(), b"{}"));
        let (key, other) = ([7, 0, 1, 202611, 0, 0], [8, 0, 1, 202611, 0, 0]);
        let minute = Duration::from_secs(60);
        assert!(cache.hot.get(&key, minute, &cache.stats).is_none());
        cache.hot.put(key, answer.clone());
        let hits = || cache.stats.hits.load(Ordering::Relaxed);
        assert!(cache.hot.get(&key, minute, &cache.stats).is_some());
        assert_eq!(hits(), 1, "a hot answer counts as a cache hit");
        assert!(
            cache.hot.get(&other, minute, &cache.stats).is_none(),
            "a new version"
        );
        assert!(
            cache.hot.get(&key, Duration::ZERO, &cache.stats).is_none(),
            "past its time to live it goes through the cache again"
        );
        assert_eq!(hits(), 1);
        cache.hot_page.put(key, answer.clone());
        cache.flush("user:");
        assert!(
            cache.hot.get(&key, minute, &cache.stats).is_none(),
            "any flush"
        );
        assert!(
            cache.hot_page.get(&key, minute, &cache.stats).is_none(),
            "any flush empties both slots"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_compute_once() {
        let cache = Arc::new(ResponseCache::new("test"));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_make("k@1".into(), Duration::from_secs(60), move || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Prepared::new(b"body".to_vec(), b"body"))
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(&t.await.unwrap().body[..], b"body");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            cache.stats.misses.load(Ordering::SeqCst) + cache.stats.hits.load(Ordering::SeqCst),
            16
        );
    }

    #[tokio::test]
    async fn the_cache_is_bounded_by_bytes_whatever_the_count() {
        let cache = Arc::new(ResponseCache::new("test"));
        // 400 distinct 100 KB answers (what `limit=1000` pages cost): 40 MB offered.
        for i in 0..400 {
            cache
                .get_or_make(
                    format!("page{i}"),
                    Duration::from_secs(60),
                    move || async move { Ok(Prepared::whole(vec![b'x'; 100 * 1024])) },
                )
                .await
                .unwrap();
        }
        assert!(
            cache.weight() <= CAPACITY_BYTES,
            "{} bytes kept",
            cache.weight()
        );
        assert!(
            cache.weight() > CAPACITY_BYTES / 2 && cache.weight() > 6 << 20,
            "the budget (8 MB) is used, not wasted"
        );
    }

    #[tokio::test]
    async fn an_expired_entry_is_served_while_one_refresh_runs() {
        let cache = Arc::new(ResponseCache::new("test"));
        let make = |text: &'static str| {
            move || async move { Ok(Prepared::new(text.as_bytes().to_vec(), text.as_bytes())) }
        };
        cache
            .get_or_make("k".into(), Duration::ZERO, make("old"))
            .await
            .unwrap();
        let served = cache
            .get_or_make("k".into(), Duration::ZERO, make("new"))
            .await
            .unwrap();
        assert_eq!(&served.body[..], b"old", "the stale entry answers at once");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refreshed = cache
            .get_or_make("k".into(), Duration::from_secs(60), make("newer"))
            .await
            .unwrap();
        assert_eq!(&refreshed.body[..], b"new");
        assert_eq!(cache.stats.stale_hits.load(Ordering::SeqCst), 1);
    }

    fn answer(text: &'static str) -> impl FnOnce() -> std::future::Ready<ApiResult<Prepared>> {
        move || std::future::ready(Ok(Prepared::new(text.as_bytes().to_vec(), text.as_bytes())))
    }

    #[tokio::test]
    async fn a_fresh_entry_is_a_hit_and_is_not_made_again() {
        let cache = Arc::new(ResponseCache::new("responses"));
        assert_eq!(cache.name(), "responses");
        let ttl = Duration::from_secs(60);
        cache
            .get_or_make("k".into(), ttl, answer("first"))
            .await
            .unwrap();
        let again = cache
            .get_or_make("k".into(), ttl, answer("second"))
            .await
            .unwrap();
        assert_eq!(&again.body[..], b"first");
        let stats = &cache.stats;
        assert_eq!(
            (
                stats.misses.load(Ordering::SeqCst),
                stats.hits.load(Ordering::SeqCst),
                stats.stale_hits.load(Ordering::SeqCst)
            ),
            (1, 1, 0)
        );
    }

    #[tokio::test]
    async fn a_flush_by_prefix_drops_those_entries_only_and_counts_them() {
        let cache = Arc::new(ResponseCache::new("test"));
        let ttl = Duration::from_secs(60);
        for key in ["race:a", "race:b", "board:1"] {
            cache
                .get_or_make(key.into(), ttl, answer("old"))
                .await
                .unwrap();
        }
        assert_eq!(cache.flush("race:"), 2);
        let kept = cache
            .get_or_make("board:1".into(), ttl, answer("new"))
            .await
            .unwrap();
        assert_eq!(&kept.body[..], b"old", "another prefix stays");
        let made = cache
            .get_or_make("race:a".into(), ttl, answer("new"))
            .await
            .unwrap();
        assert_eq!(&made.body[..], b"new", "a flushed answer is made again");
        assert_eq!(cache.flush(""), 2, "everything");
    }

    /// An entry weighs its key, its body, its gzipped body and a fixed overhead: the
    /// byte budget counts what is really held.
    #[tokio::test]
    async fn an_entry_weighs_its_key_its_bodies_and_its_overhead() {
        let cache = Arc::new(ResponseCache::new("test"));
        let body: Vec<u8> = (0..4000u32).flat_map(|n| n.to_le_bytes()).collect();
        let kept = cache
            .get_or_make("key".into(), Duration::from_secs(60), move || {
                std::future::ready(Ok(Prepared::whole(body)))
            })
            .await
            .unwrap();
        let gzip = kept.gzip.as_ref().map_or(0, |g| g.len()) as u64;
        assert!(gzip > 0, "a 16 KB body is kept gzipped too");
        assert_eq!(cache.weight(), 3 + 16_000 + gzip + ENTRY_OVERHEAD);
    }

    #[test]
    fn the_etag_follows_the_identity_not_the_body() {
        let a = Prepared::new(b"x synced at 1".to_vec(), b"data");
        let b = Prepared::new(b"x synced at 2".to_vec(), b"data");
        let c = Prepared::new(b"x synced at 2".to_vec(), b"other data");
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
    }
}
