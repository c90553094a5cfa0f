//! Latency histograms with fixed buckets, so hours and endpoints can be added together
//! and p50/p95 computed for any range afterwards.
//!
//! Bucket `i` holds latencies up to 50 µs × 2^(i/2) (a factor of √2 per bucket, so any
//! quantile is known within ±21 %); the last bucket holds everything slower than ~37 s.

/// How many buckets a histogram has.
pub const BUCKETS: usize = 41;

const FIRST_UPPER_MICROS: f64 = 50.0;

/// The upper bound of bucket `i`, in milliseconds (`f64::INFINITY` for the last).
pub fn upper_ms(i: usize) -> f64 {
    if i + 1 >= BUCKETS {
        f64::INFINITY
    } else {
        FIRST_UPPER_MICROS * 2f64.powf(i as f64 / 2.0) / 1000.0
    }
}

/// The bucket a latency falls in: the first whose upper bound it does not pass. Every
/// request is counted, so the bounds are worked out once, not with a logarithm each time.
pub fn bucket_of(micros: u64) -> usize {
    static UPPER_MICROS: std::sync::OnceLock<[f64; BUCKETS]> = std::sync::OnceLock::new();
    let upper = UPPER_MICROS.get_or_init(|| std::array::from_fn(|i| upper_ms(i) * 1000.0));
    let micros = micros as f64;
    upper.partition_point(|&u| micros > u).min(BUCKETS - 1)
}

pub type Histogram = [u64; BUCKETS];

pub fn add(into: &mut Histogram, from: &Histogram) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The `q` quantile (0–1) in milliseconds, by linear interpolation inside its bucket;
/// `None` for an empty histogram. A quantile in the open-ended last bucket reports
/// that bucket's lower bound.
pub fn quantile(h: &Histogram, q: f64) -> Option<f64> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * total as f64).max(1.0);
    let mut seen = 0u64;
    for (i, &count) in h.iter().enumerate() {
        if count == 0 {
            continue;
        }
        if (seen + count) as f64 >= rank {
            let lower = if i == 0 { 0.0 } else { upper_ms(i - 1) };
            let upper = upper_ms(i);
            if upper.is_infinite() {
                return Some(round3(lower));
            }
            let within = (rank - seen as f64) / count as f64;
            return Some(round3(lower + (upper - lower) * within));
        }
        seen += count;
    }
    None
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Stored as a JSON array of counts.
pub fn encode(h: &Histogram) -> String {
    serde_json::to_string(&h[..]).expect("numbers serialize")
}

/// Reads what [`encode`] wrote; a shorter array (fewer buckets) is padded, a longer
/// one has its extra counts added to the last bucket, so nothing counted is lost.
pub fn decode(text: &str) -> Histogram {
    let counts: Vec<u64> = serde_json::from_str(text).unwrap_or_default();
    let mut h = [0u64; BUCKETS];
    for (i, c) in counts.into_iter().enumerate() {
        h[i.min(BUCKETS - 1)] += c;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(50), 0);
        assert_eq!(bucket_of(51), 1);
        assert_eq!(bucket_of(100), 2);
        assert_eq!(bucket_of(101), 3);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        let mut last = 0;
        for micros in (0..2_000_000).step_by(997) {
            let b = bucket_of(micros);
            assert!(b >= last, "bucket went down at {micros} µs");
            assert!(micros as f64 <= upper_ms(b) * 1000.0 + 1e-6);
            if b > 0 {
                assert!(micros as f64 > upper_ms(b - 1) * 1000.0 - 1e-6);
            }
            last = b;
        }
    }

    #[test]
    fn quantiles_land_within_a_bucket_of_the_truth() {
        let mut h = [0u64; BUCKETS];
        // 1..=1000 ms, one request each.
        for ms in 1..=1000u64 {
            h[bucket_of(ms * 1000)] += 1;
        }
        let p50 = quantile(&h, 0.5).unwrap();
        let p95 = quantile(&h, 0.95).unwrap();
        assert!((500.0 / 1.42..=500.0 * 1.42).contains(&p50), "p50 {p50}");
        assert!((950.0 / 1.42..=950.0 * 1.42).contains(&p95), "p95 {p95}");
        assert!(p50 < p95);
        assert_eq!(quantile(&[0; BUCKETS], 0.5), None);
    }

    #[test]
    fn histograms_survive_storage_and_add_up() {
        let mut a = [0u64; BUCKETS];
        a[3] = 7;
        a[BUCKETS - 1] = 1;
        let mut b = decode(&encode(&a));
        assert_eq!(a, b);
        add(&mut b, &a);
        assert_eq!(b[3], 14);
        assert_eq!(decode("[1,2]")[1], 2);
        assert_eq!(decode("not json"), [0; BUCKETS]);
    }
}
