//! The connection loop: accepts connections and serves each with hyper, handing every
//! request to the site's poem endpoint.
//!
//! poem's own `Server` does the same, at a cost measured on the hot path (issue 13):
//! it boxes every acceptor, and its boxed connection splits the socket into two halves
//! behind a lock and hides that the socket can write vectored. hyper then copies every
//! answer's body into its write buffer before sending it (10 KB for the current race),
//! and every read and write takes the split's lock. It also boxes the endpoint, so each
//! request's future is moved to the heap. Serving the acceptor's own connection type
//! sends header and body in one `writev` with no copy. What poem does per request is
//! unchanged: the request and response conversions, upgrades (the WebSocket feed) and
//! HTTP/2 settings are poem's, so every handler and layer sees the same request.
//!
//! Stopping: on `shutdown` the listener closes at once, every connection is asked to
//! finish the request it is on (HTTP/1 closes after it, HTTP/2 sends GOAWAY), and those
//! still open when `grace` runs out are dropped.
//!
//! Limits every connection keeps here, on both the plain and the TLS path ([`Limits`],
//! SPEC §17): at most `server.max_connections_per_ip` open connections per client
//! address (refused as they arrive), and a connection with no request in progress for
//! [`IDLE`] is closed, HTTP/2 included. hyper offers neither: its HTTP/2 keep-alive
//! pings only find peers that are gone (and are on, below), not ones that answer pings
//! and send nothing else. Deadlines on a request's headers and on HTTP/1 keep-alive are
//! `http::deadline`'s; a body that stops arriving is the body limit's
//! (`middleware::gate`), which answers it 408.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::listener::Acceptor;
use poem::{Endpoint, Request, Response};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::client::{AddressCounts, canonical, limit_key};

/// HTTP/2 settings: poem's, 20 pending resets before GOAWAY (the "rapid reset" guard)
/// and 16 KiB of headers, except that hyper's cap of 200 concurrent streams per
/// connection is kept where poem lifted it.
const H2_MAX_PENDING_RESETS: usize = 20;
const H2_MAX_HEADER_LIST: u32 = 16 * 1024;

/// How long to wait before accepting again after the listener fails (out of file
/// descriptors, say): a failing `accept` returns at once, and retrying at once would
/// spin a core while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a connection may hold no request before it is closed (SPEC §17: 75 s, as
/// nginx's `keepalive_timeout`).
pub const IDLE: Duration = Duration::from_secs(75);
/// HTTP/2 pings: one after this much silence from the peer, and the connection is
/// dropped when its answer does not come within as long again.
const H2_PING: Duration = Duration::from_secs(20);
/// How long a connection closed for idleness may take to say goodbye (an HTTP/2 GOAWAY
/// waits for the peer's acknowledgement) before it is dropped.
const IDLE_GOODBYE: Duration = Duration::from_secs(5);

/// What every connection is held to; shared by all the workers.
#[derive(Clone)]
pub struct Limits {
    /// A connection with no request in progress for this long (and at most a third
    /// more, see [`LOOKS`]) is closed.
    pub idle: Duration,
    /// Open connections per client address; `None` is no cap.
    pub per_address: Option<Arc<PerAddress>>,
}

impl Limits {
    /// `max_per_address` connections per address (0: no cap), proxies in `exempt` not
    /// counted, and [`IDLE`].
    pub fn new(max_per_address: usize, exempt: &[ipnet::IpNet]) -> Limits {
        Limits {
            idle: IDLE,
            per_address: (max_per_address > 0).then(|| {
                Arc::new(PerAddress {
                    max: max_per_address,
                    exempt: exempt.into(),
                    open: AddressCounts::default(),
                })
            }),
        }
    }

    /// No cap, the default idle limit: for tests of other things.
    pub fn none() -> Limits {
        Limits {
            idle: IDLE,
            per_address: None,
        }
    }
}

/// The open connections of each client address (its limit key: IPv6 by /64). Behind a
/// reverse proxy every visitor arrives from the proxy's address, so addresses in
/// `server.trusted_proxies` are not counted: the proxy keeps its own limits.
pub struct PerAddress {
    max: usize,
    exempt: Arc<[ipnet::IpNet]>,
    open: AddressCounts,
}

/// An address that holds its share of connections already.
struct Full;

impl PerAddress {
    /// A place for one more connection from `ip` (`None`: a trusted proxy, not counted),
    /// or [`Full`].
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Option<Admitted>, Full> {
        if self.exempt.iter().any(|net| net.contains(&canonical(ip))) {
            return Ok(None);
        }
        let key = limit_key(ip);
        if !self.open.take(key, self.max) {
            return Err(Full);
        }
        Ok(Some(Admitted {
            owner: self.clone(),
            key,
        }))
    }

    /// How many connections `ip`'s address holds (for tests and metrics).
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.open.held(limit_key(ip))
    }
}

/// A connection's place in [`PerAddress`], given back when the connection ends.
struct Admitted {
    owner: Arc<PerAddress>,
    key: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.owner.open.give_back(self.key);
    }
}

/// How many looks at a connection's requests make up the idle limit: a connection is
/// idle once this many looks, [`Limits::idle`] / `LOOKS` apart, found no request in
/// progress and none begun since the look before (so it closes between the limit and a
/// third more). Counting requests rather than timing them keeps the clock off the hot
/// path: a request costs two atomic additions here.
const LOOKS: u32 = 3;

/// A connection's requests: how many are in progress, and how many have begun.
#[derive(Default)]
struct Activity {
    in_progress: AtomicUsize,
    begun: AtomicU64,
}

/// A request in progress on its connection: counted from when hyper hands it over
/// until its answer (or its drop, for a client that left).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Busy {
        activity.in_progress.fetch_add(1, Ordering::Relaxed);
        activity.begun.fetch_add(1, Ordering::Relaxed);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `endpoint` on every connection `acceptor` accepts, until `shutdown`
/// completes; then lets open connections finish for up to `grace`. The endpoint is
/// shared: every connection's requests go to it, from every worker (`http::workers`).
pub async fn serve<A, E>(
    mut acceptor: A,
    endpoint: Arc<E>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    A: Acceptor + 'static,
    E: Endpoint<Output = Response> + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // While a request is being answered hyper otherwise reads the socket again, only to
    // notice a client that hung up mid-request. That read comes while the request still
    // holds its head's buffer, so it costs a fresh 8 KB buffer (and a `recvfrom` that
    // finds nothing) on every request: 2 % of the hot path's samples. Our handlers are
    // short reads and writes that are fine to finish for a client that left; the hang-up
    // is seen when the answer is written. WebSockets are upgraded before this matters.
    builder.http1().half_close(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING)
        .keep_alive_timeout(H2_PING)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_header_list_size(H2_MAX_HEADER_LIST);
    let builder = Arc::new(builder);
    // `Some(deadline)` once stopping: connections finish by then or are dropped.
    let (stopping, stop_seen) = watch::channel(None::<Instant>);
    // Every connection holds a sender; when the last is gone, `recv` returns `None`.
    let (alive, mut all_closed) = mpsc::channel::<Infallible>(1);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = acceptor.accept() => accepted,
        };
        let Some((io, local, remote, scheme)) = accepted_or_wait(accepted).await else {
            continue;
        };
        let admitted = match (&limits.per_address, remote.as_socket_addr()) {
            (Some(cap), Some(peer)) => match cap.admit(peer.ip()) {
                Ok(admitted) => admitted,
                Err(Full) => {
                    // Closed before a byte is read: the address holds its share.
                    metrics::counter!("goated_connections_refused_total", "reason" => "per_address")
                        .increment(1);
                    drop(io);
                    continue;
                }
            },
            _ => None,
        };
        let (endpoint, builder, mut stop_seen, alive, idle) = (
            endpoint.clone(),
            builder.clone(),
            stop_seen.clone(),
            alive.clone(),
            limits.idle,
        );
        tokio::spawn(async move {
            let (_alive, _admitted) = (alive, admitted);
            let activity = Arc::new(Activity::default());
            let requests = activity.clone();
            let service = hyper::service::service_fn(move |req| {
                let endpoint = endpoint.clone();
                let busy = Busy::start(&requests);
                let req = Request::from((req, local.clone(), remote.clone(), scheme.clone()));
                async move {
                    let _busy = busy;
                    // The one place a request is held beside its future: hyper's futures
                    // own what they use, and the endpoint is shared by every connection.
                    let resp = endpoint.get_response(req).await;
                    Ok::<_, Infallible>(hyper::Response::<BoxBody<Bytes, io::Error>>::from(resp))
                }
            });
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            tokio::pin!(conn);
            let look_every = idle / LOOKS;
            let idle_check = tokio::time::sleep(look_every);
            tokio::pin!(idle_check);
            let (mut quiet_looks, mut begun_before) = (0, 0);
            let deadline = loop {
                tokio::select! {
                    _ = &mut conn => return,
                    deadline = stop_seen.wait_for(Option::is_some) => break match deadline {
                        Ok(deadline) => (*deadline).unwrap_or_else(Instant::now),
                        Err(_) => Instant::now(),
                    },
                    _ = &mut idle_check => {
                        let begun = activity.begun.load(Ordering::Relaxed);
                        let quiet = activity.in_progress.load(Ordering::Relaxed) == 0
                            && begun == begun_before;
                        quiet_looks = if quiet { quiet_looks + 1 } else { 0 };
                        begun_before = begun;
                        let now = Instant::now();
                        if quiet_looks >= LOOKS {
                            break now + IDLE_GOODBYE;
                        }
                        idle_check.as_mut().reset(now + look_every);
                    }
                }
            };
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout_at(deadline, conn).await;
        });
    }
    drop(acceptor);
    let _ = stopping.send(Some(Instant::now() + grace));
    drop(alive);
    // Past the deadline every connection has dropped itself; the margin covers the
    // moment between a connection's deadline and its task ending.
    let _ = tokio::time::timeout(grace + Duration::from_secs(1), all_closed.recv()).await;
    Ok(())
}

/// The connection `accepted` holds; or, when accepting failed, `None` once it is worth
/// trying again: at once after a client that gave up, after a pause when the process is
/// out of descriptors or memory.
pub(super) async fn accepted_or_wait<T>(accepted: io::Result<T>) -> Option<T> {
    match accepted {
        Ok(connection) => Some(connection),
        Err(err) => {
            tracing::debug!(error = %err, "accepting a connection failed");
            if is_resource_shortage(&err) {
                tracing::warn!(error = %err, "cannot accept connections for now");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
            None
        }
    }
}

fn is_resource_shortage(err: &io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the process or system is out of something that
    // only time (connections closing) gives back.
    matches!(err.raw_os_error(), Some(24 | 23 | 105 | 12))
        || err.kind() == io::ErrorKind::OutOfMemory
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use poem::EndpointExt;
    use poem::listener::{Listener, TcpListener};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::{Notify, oneshot};

    use super::*;

    /// How the held server serves: as [`serve`] does on the test's runtime, or on
    /// per-core workers (`http::workers`, what plain HTTP runs on).
    #[derive(Clone, Copy)]
    enum Serving {
        Shared,
        Workers(usize),
    }

    /// A server whose one endpoint notifies `entered`, then answers "done" once
    /// `release` is notified.
    struct Held {
        entered: Arc<Notify>,
        release: Arc<Notify>,
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        server: tokio::task::JoinHandle<io::Result<()>>,
    }

    async fn held_server(grace: Duration, serving: Serving) -> Held {
        held_server_limited(grace, serving, Limits::none()).await
    }

    async fn held_server_limited(grace: Duration, serving: Serving, limits: Limits) -> Held {
        let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (entered_, release_) = (entered.clone(), release.clone());
        let endpoint = poem::endpoint::make(move |_| {
            let (entered, release) = (entered_.clone(), release_.clone());
            async move {
                entered.notify_one();
                release.notified().await;
                "done"
            }
        })
        .map_to_response();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let (addr, server) = match serving {
            Serving::Shared => {
                let acceptor = TcpListener::bind("127.0.0.1:0")
                    .into_acceptor()
                    .await
                    .unwrap();
                let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
                let server =
                    tokio::spawn(serve(acceptor, Arc::new(endpoint), limits, stopped, grace));
                (addr, server)
            }
            Serving::Workers(n) => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = tokio::spawn(crate::http::workers::serve_per_core(
                    listener,
                    endpoint,
                    |handed| handed,
                    limits,
                    n,
                    stopped,
                    grace,
                ));
                (addr, server)
            }
        };
        Held {
            entered,
            release,
            addr,
            stop,
            server,
        }
    }

    async fn send_request(addr: SocketAddr) -> TcpStream {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        client
    }

    /// Reads the held endpoint's whole answer and checks that it is the one it gives.
    async fn assert_answered_done(client: &mut TcpStream) {
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer))
            .await
            .expect("answered")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
    }

    #[tokio::test]
    async fn a_stop_closes_the_listener_and_lets_a_request_in_flight_finish() {
        a_stop_closes_the_listener_and_lets_a_request_in_flight_finish_when(Serving::Shared).await;
    }

    #[tokio::test]
    async fn a_stop_closes_the_listener_and_lets_a_request_in_flight_finish_on_workers() {
        a_stop_closes_the_listener_and_lets_a_request_in_flight_finish_when(Serving::Workers(2))
            .await;
    }

    async fn a_stop_closes_the_listener_and_lets_a_request_in_flight_finish_when(serving: Serving) {
        let Held {
            entered,
            release,
            addr,
            stop,
            server,
        } = held_server(Duration::from_secs(30), serving).await;
        let mut client = send_request(addr).await;
        entered.notified().await;
        stop.send(()).unwrap();
        // The listener closes at once: a new connection is refused.
        let mut refused = false;
        for _ in 0..50 {
            if TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "the listener still accepts after the stop");
        assert!(
            !server.is_finished(),
            "the server waits for the request in flight"
        );
        release.notify_one();
        assert_answered_done(&mut client).await;
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops once its last request is answered")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_client_that_closes_its_sending_side_still_gets_its_answer() {
        a_client_that_closes_its_sending_side_still_gets_its_answer_when(Serving::Shared).await;
    }

    #[tokio::test]
    async fn a_client_that_closes_its_sending_side_still_gets_its_answer_on_workers() {
        a_client_that_closes_its_sending_side_still_gets_its_answer_when(Serving::Workers(2)).await;
    }

    async fn a_client_that_closes_its_sending_side_still_gets_its_answer_when(serving: Serving) {
        // `half_close`: a client may shut its write side once its request is sent (some
        // scripts do); the request is answered, not dropped as a hang-up.
        let Held {
            entered,
            release,
            addr,
            stop: _stop,
            server: _server,
        } = held_server(Duration::from_secs(30), serving).await;
        let mut client = send_request(addr).await;
        client.shutdown().await.unwrap();
        entered.notified().await;
        release.notify_one();
        assert_answered_done(&mut client).await;
    }

    #[tokio::test]
    async fn a_request_that_outlives_the_grace_is_dropped_and_the_server_stops() {
        a_request_that_outlives_the_grace_is_dropped_and_the_server_stops_when(Serving::Shared)
            .await;
    }

    #[tokio::test]
    async fn a_request_that_outlives_the_grace_is_dropped_and_the_server_stops_on_workers() {
        a_request_that_outlives_the_grace_is_dropped_and_the_server_stops_when(Serving::Workers(2))
            .await;
    }

    async fn a_request_that_outlives_the_grace_is_dropped_and_the_server_stops_when(
        serving: Serving,
    ) {
        let Held {
            entered,
            release: _,
            addr,
            stop,
            server,
        } = held_server(Duration::from_millis(300), serving).await;
        let mut client = send_request(addr).await;
        entered.notified().await;
        let asked_to_stop = Instant::now();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops when the grace runs out")
            .unwrap()
            .unwrap();
        assert!(asked_to_stop.elapsed() >= Duration::from_millis(300));
        let mut answer = Vec::new();
        let read = client.read_to_end(&mut answer).await;
        assert!(
            read.is_err() || answer.is_empty(),
            "the connection is closed without an answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    fn short_idle() -> Limits {
        Limits {
            idle: Duration::from_millis(300),
            per_address: None,
        }
    }

    #[tokio::test]
    async fn an_http2_connection_that_sends_nothing_is_closed_after_the_idle_limit() {
        for serving in [Serving::Shared, Serving::Workers(2)] {
            let held = held_server_limited(Duration::from_secs(30), serving, short_idle()).await;
            let mut client = TcpStream::connect(held.addr).await.unwrap();
            // The preface and an empty SETTINGS frame: a client that then says nothing.
            client
                .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
                .await
                .unwrap();
            let started = Instant::now();
            let mut sink = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(15), client.read_to_end(&mut sink));
            assert!(
                read.await.is_ok(),
                "the idle HTTP/2 connection was still open after 15 s"
            );
            let closed = started.elapsed();
            assert!(
                closed >= Duration::from_millis(300)
                    && closed < Duration::from_millis(300) + IDLE_GOODBYE + Duration::from_secs(2),
                "closed after {closed:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_request_in_progress_is_not_idle_however_long_it_takes() {
        for serving in [Serving::Shared, Serving::Workers(2)] {
            let Held {
                entered,
                release,
                addr,
                stop: _stop,
                server: _server,
            } = held_server_limited(Duration::from_secs(30), serving, short_idle()).await;
            let mut client = send_request(addr).await;
            entered.notified().await;
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            release.notify_one();
            assert_answered_done(&mut client).await;
        }
    }

    #[tokio::test]
    async fn an_address_past_its_share_of_connections_is_closed_as_it_arrives() {
        let limits = Limits::new(1, &[]);
        let cap = limits.per_address.clone().unwrap();
        let Held {
            entered,
            release,
            addr,
            stop: _stop,
            server: _server,
        } = held_server_limited(Duration::from_secs(30), Serving::Workers(2), limits).await;
        let mut first = send_request(addr).await;
        entered.notified().await;
        assert_eq!(cap.open_from(addr.ip()), 1);
        let mut second = send_request(addr).await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "the second connection was kept open");
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        release.notify_one();
        first.shutdown().await.unwrap();
        assert_answered_done(&mut first).await;
        drop(first);
        // Its place is given back when it closes.
        for _ in 0..100 {
            if cap.open_from(addr.ip()) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(cap.open_from(addr.ip()), 0);
    }

    #[test]
    fn a_trusted_proxy_is_not_counted_however_its_address_is_written() {
        let cap = Limits::new(1, &["127.0.0.1/32".parse().unwrap()])
            .per_address
            .unwrap();
        for proxy in ["127.0.0.1", "::ffff:127.0.0.1"] {
            assert!(
                matches!(cap.admit(proxy.parse().unwrap()), Ok(None)),
                "{proxy}"
            );
        }
        // Anyone else is counted, an IPv6 client by its /64.
        let first = cap.admit("2001:db8::1".parse().unwrap());
        assert!(matches!(first, Ok(Some(_))));
        assert!(matches!(
            cap.admit("2001:db8::2".parse().unwrap()),
            Err(Full)
        ));
        drop(first);
        assert_eq!(cap.open_from("2001:db8::2".parse().unwrap()), 0);
    }

    #[test]
    fn running_out_of_descriptors_or_memory_is_a_shortage_to_wait_out() {
        for code in [24, 23, 105, 12] {
            assert!(is_resource_shortage(&io::Error::from_raw_os_error(code)));
        }
        // A client that gave up during the handshake is not: accept again at once.
        assert!(!is_resource_shortage(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        assert!(!is_resource_shortage(&io::Error::from_raw_os_error(103)));
    }
}
