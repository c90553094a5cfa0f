//! Who is asking: the client address (believing `X-Forwarded-For` only from trusted
//! proxies), and the general per-client rate limit on the API.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

// foldhash rather than SipHash: a bucket is found on every API request. Its seed is
// random per process, and the map is bounded (see `check`), so chosen addresses cannot
// grow it into a slow one.
use foldhash::{HashMap, HashMapExt};
use ipnet::IpNet;
use parking_lot::Mutex;
use poem::Request;

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which
/// case the right-most address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_ip(req: &Request, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| canonical(a.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// The key per-address limits count under: an IPv4 address as it is, an IPv6 address
/// by its /64 (one subscriber's whole allocation, which it can rotate through freely).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// `::ffff:1.2.3.4` is 1.2.3.4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// What each client address (its [`limit_key`]) holds of something capped per address:
/// open connections, live-feed sockets. An address holding nothing has no entry, so
/// the map only ever lists addresses that hold something now.
#[derive(Default)]
pub struct AddressCounts(Mutex<HashMap<IpAddr, usize>>);

impl AddressCounts {
    /// Takes one place for `key` unless it holds `max` already (0: no cap).
    pub fn take(&self, key: IpAddr, max: usize) -> bool {
        let mut held = self.0.lock();
        let n = held.entry(key).or_insert(0);
        if max > 0 && *n >= max {
            if *n == 0 {
                held.remove(&key);
            }
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back a place [`AddressCounts::take`] gave.
    pub fn give_back(&self, key: IpAddr) {
        let mut held = self.0.lock();
        if let Some(n) = held.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&key);
            }
        }
    }

    /// The places `key` holds.
    pub fn held(&self, key: IpAddr) -> usize {
        self.0.lock().get(&key).copied().unwrap_or(0)
    }

    /// Whether no address holds anything.
    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }
}

/// Whether the request reached us over HTTPS (directly or through a trusted proxy).
pub fn is_https(req: &Request, trusted: &[IpNet]) -> bool {
    if *req.scheme() == poem::http::uri::Scheme::HTTPS {
        return true;
    }
    let peer_trusted = req
        .remote_addr()
        .as_socket_addr()
        .is_some_and(|a| trusted.iter().any(|net| net.contains(&canonical(a.ip()))));
    peer_trusted
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
}

/// A token bucket per client address: `per_minute` requests, refilled continuously.
pub struct ClientLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl ClientLimiter {
    pub fn new(per_minute: u32) -> Self {
        ClientLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// Takes one request's token, or says how long until one is there. IPv6 clients
    /// share one bucket per /64.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let ip = limit_key(ip);
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() > 50_000 {
            // Full buckets carry no state worth keeping.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_quota_then_waits() {
        let limiter = ClientLimiter::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limiter.check("10.0.0.2".parse().unwrap()).is_ok(),
            "other clients are not affected"
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let limiter = ClientLimiter::new(2);
        assert!(limiter.check("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(
            limiter
                .check("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_ok()
        );
        assert!(
            limiter
                .check("2001:db8:1:2:abcd::1".parse().unwrap())
                .is_err(),
            "a third address in the same /64 is the same client"
        );
        assert!(limiter.check("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert_eq!(
            limit_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limit_key("2001:db8::dead:beef".parse().unwrap()),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
    }
}
