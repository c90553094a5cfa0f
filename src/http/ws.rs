//! `GET /ws`: live updates. Each event becomes one JSON message, built once and fanned
//! out to every client. Clients only listen: anything but ping, pong and close ends the
//! connection. A client that falls behind or stops answering is dropped without holding
//! up the others.
//!
//! Limits (SPEC §10) are the socket's own configuration: a frame or message above
//! [`MAX_INCOMING`] is refused from its header, before its payload is read, and the
//! socket is closed with 1009. One client address (an IPv6 /64) holds at most
//! `server.max_websockets_per_ip` sockets.

use crate::http::client::AddressCounts;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketConfig};
use poem::{IntoResponse, Request, Response, handler};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::{ApiError, ErrorCode};
use crate::domain::ranking::Standing;
use crate::events::Event;
use crate::http::state::AppState;
use crate::read::ReadModel;

const HEARTBEAT: Duration = Duration::from_secs(25);
/// A client silent (no pong, no ping) for this long is gone.
const IDLE_LIMIT: Duration = Duration::from_secs(70);
/// A send that takes longer means the client cannot keep up.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const TOP: usize = 5;
/// How long a socket refused for an oversized message stays open after its close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// The largest frame or message a client may send (it only ever needs ping and close).
pub const MAX_INCOMING: usize = 4 * 1024;

/// The fan-out: prepared messages and the count of connected clients.
pub struct Feed {
    messages: broadcast::Sender<Arc<str>>,
    clients: AtomicUsize,
    max_clients: usize,
    per_address: AddressCounts,
    max_per_address: usize,
}

impl Feed {
    pub fn new(max_clients: usize, max_per_address: usize) -> Arc<Feed> {
        Arc::new(Feed {
            messages: broadcast::channel(16).0,
            clients: AtomicUsize::new(0),
            max_clients,
            per_address: AddressCounts::default(),
            max_per_address,
        })
    }

    /// Takes a place for a client at `address` (its limit key), or says which cap is
    /// full. A per-address cap of 0 is no cap, as `rate_limit_per_minute = 0` is no limit.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Slot, Full> {
        if !self.per_address.take(address, self.max_per_address) {
            return Err(Full::Address);
        }
        if self.clients.fetch_add(1, Ordering::Relaxed) >= self.max_clients {
            self.clients.fetch_sub(1, Ordering::Relaxed);
            self.per_address.give_back(address);
            return Err(Full::Server);
        }
        Ok(Slot {
            feed: self.clone(),
            address,
        })
    }

    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Turns events into messages, for as long as events come.
    pub fn spawn(self: &Arc<Self>, mut events: broadcast::Receiver<Event>, read: Arc<ReadModel>) {
        let feed = self.clone();
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                match message_for(&event, &read).await {
                    Ok(Some(text)) => {
                        let _ = feed.messages.send(Arc::from(text));
                    }
                    Ok(None) => {}
                    Err(err) => tracing::error!(error = %err, "could not build a live update"),
                }
            }
        });
    }
}

fn standing_json(s: &Standing) -> Value {
    json!({"uid": s.uid, "name": s.name, "wagered": s.wagered.to_dollars(),
           "position": s.position, "prize": s.prize.to_dollars()})
}

async fn message_for(event: &Event, read: &ReadModel) -> crate::db::DbResult<Option<String>> {
    Ok(Some(match event {
        Event::LeaderboardUpdated {
            race_id, version, ..
        } => {
            let race = read.current_race().await?;
            if race.id != *race_id {
                return Ok(None);
            }
            json!({
                "type": "leaderboard.updated",
                "raceId": race_id,
                "version": version,
                "top": race.standings.iter().take(TOP).map(standing_json).collect::<Vec<_>>(),
                "totalWagered": race.total_wagered.to_dollars(),
                "participantCount": race.standings.len(),
            })
            .to_string()
        }
        Event::RaceCompleted { race_id } => {
            let Some(race) = read.final_race(race_id).await? else {
                return Ok(None);
            };
            let winners: Vec<Value> = race
                .standings
                .iter()
                .filter(|s| s.prize.0 > 0)
                .map(standing_json)
                .collect();
            json!({"type": "race.completed", "raceId": race_id, "winners": winners,
                   "totalWagered": race.total_wagered.to_dollars(), "participantCount": race.standings.len()})
            .to_string()
        }
    }))
}

enum Full {
    Server,
    Address,
}

/// Holds a client's place under the caps until the connection ends (or never starts).
struct Slot {
    feed: Arc<Feed>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.feed.clients.fetch_sub(1, Ordering::Relaxed);
        self.feed.per_address.give_back(self.address);
    }
}

/// The socket's own limits: small frames and messages in, small buffers.
///
/// The read buffer is allocated whole for every socket, so it is most of an idle
/// client's cost: 256 bytes hold any control frame (at most 139 bytes), and a larger
/// frame, up to [`MAX_INCOMING`], grows it only while it is read. With tungstenite's
/// default of 128 KiB a client cost 131 KB; 4 KiB, 10.7 KB; 256 bytes, see
/// `scripts/bench-ws.sh`.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_frame_size(Some(MAX_INCOMING))
        .max_message_size(Some(MAX_INCOMING))
        .read_buffer_size(READ_BUFFER)
}

const READ_BUFFER: usize = 256;

#[handler]
pub fn connect(ws: WebSocket, req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let feed = state.feed.clone();
    let address = super::client::limit_key(super::client::client_ip(
        req,
        &state.config.server.trusted_proxies,
    ));
    let slot = match feed.admit(address) {
        Ok(slot) => slot,
        Err(Full::Server) => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                "Too many live connections right now; the page falls back to polling.",
            )
            .into_response();
        }
        Err(Full::Address) => {
            tracing::info!(%address, "live connection refused: too many from one address");
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "Too many live connections from this address.",
            )
            .into_response();
        }
    };
    let hello = json!({
        "type": "hello",
        "raceId": state.read.current_race_id().to_string(),
        "version": state.sync.read().data_version(),
    })
    .to_string();
    let updates = feed.messages.subscribe();
    ws.config(socket_config())
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            let (sink, stream) = socket.split();
            serve(sink, stream, hello, updates).await;
        })
        .into_response()
}

/// One client's connection until it ends: updates out, heartbeats, and the reasons to
/// drop it (it talks, it is idle past [`IDLE_LIMIT`], a send takes over
/// [`SEND_TIMEOUT`], it fell behind the broadcast). Generic over the socket's halves so
/// that the tests can play a client that never reads or never answers.
async fn serve<K, S, E>(
    mut sink: K,
    mut stream: S,
    hello: String,
    mut updates: broadcast::Receiver<Arc<str>>,
) where
    K: futures_util::Sink<Message> + Unpin,
    S: futures_util::Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    // Every send has the same deadline, the first too: a client that never reads is
    // dropped, whenever it stops.
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(hello))).await {
        Ok(Ok(())) => {}
        _ => return,
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    loop {
        let outgoing = tokio::select! {
            update = updates.recv() => match update {
                Ok(text) => Message::Text(text.to_string()),
                // Fell too far behind: the client reconnects and starts fresh.
                Err(_) => break,
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    break;
                }
                Message::Ping(Vec::new())
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Pong(_) | Message::Ping(_))) => {
                    last_heard = tokio::time::Instant::now();
                    continue;
                }
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    let _ = sink.send(Message::Close(Some((CloseCode::Policy, "this feed only sends".into())))).await;
                    break;
                }
                // Refused from the frame header by the socket's own limit. poem passes
                // tungstenite's error on as text only, hence the match on its words;
                // tests/api/hardening.rs checks that the close code is 1009.
                Some(Err(err)) if err.to_string().contains("too long") => {
                    let close = Message::Close(Some((CloseCode::Size, "message too big".into())));
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
                    // The rest of the refused message is still unread: closing now would
                    // reset the connection, and a reset can discard the close frame
                    // before the client reads it. Hold the socket a moment (lingering
                    // close), then let it go.
                    tokio::time::sleep(CLOSE_LINGER).await;
                    break;
                }
                _ => break,
            },
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(outgoing)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A client's side of the socket: what it was sent, and whether it reads at all.
    #[derive(Clone)]
    struct Client {
        sent: Arc<parking_lot::Mutex<Vec<Message>>>,
        /// How many messages it reads before it stops reading.
        reads: usize,
    }

    impl Default for Client {
        fn default() -> Self {
            Client {
                sent: Arc::default(),
                reads: usize::MAX,
            }
        }
    }

    impl futures_util::Sink<Message> for Client {
        type Error = std::io::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            // A client that stopped reading: its buffers are full, no send completes.
            if self.sent.lock().len() >= self.reads {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.sent.lock().push(item);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn silent() -> impl futures_util::Stream<Item = Result<Message, String>> + Unpin {
        futures_util::stream::pending()
    }

    fn kinds(client: &Client) -> Vec<&'static str> {
        client
            .sent
            .lock()
            .iter()
            .map(|m| match m {
                Message::Text(_) => "text",
                Message::Ping(_) => "ping",
                Message::Close(_) => "close",
                _ => "other",
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_answers_a_ping_is_dropped_after_the_idle_limit() {
        let (_tx, rx) = broadcast::channel(8);
        let client = Client::default();
        let started = tokio::time::Instant::now();
        serve(client.clone(), silent(), "hello".into(), rx).await;
        let lasted = started.elapsed();
        assert!(
            lasted > IDLE_LIMIT && lasted <= IDLE_LIMIT + HEARTBEAT,
            "{lasted:?}"
        );
        assert_eq!(kinds(&client), ["text", "ping", "ping"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_pings_stays() {
        let (_tx, rx) = broadcast::channel(8);
        let client = Client::default();
        // A pong every 20 s for five minutes, then silence.
        let pongs = futures_util::stream::unfold(0, |n| async move {
            if n == 15 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
            Some((Ok::<_, String>(Message::Pong(Vec::new())), n + 1))
        });
        let started = tokio::time::Instant::now();
        serve(client.clone(), Box::pin(pongs), "hello".into(), rx).await;
        assert!(started.elapsed() >= Duration::from_secs(300) + IDLE_LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_when_a_send_times_out() {
        for reads in [0, 1] {
            let (tx, rx) = broadcast::channel(8);
            let client = Client {
                reads,
                ..Client::default()
            };
            let started = tokio::time::Instant::now();
            let handle = tokio::spawn(serve(client.clone(), silent(), "hello".into(), rx));
            tokio::task::yield_now().await;
            tx.send(Arc::from("update")).unwrap();
            handle.await.unwrap();
            assert_eq!(started.elapsed(), SEND_TIMEOUT, "reads {reads}");
            assert_eq!(client.sent.lock().len(), reads, "nothing after it stopped");
            assert_eq!(tx.receiver_count(), 0, "its place in the fan-out is gone");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_falls_behind_the_broadcast_is_dropped_not_buffered() {
        let (tx, rx) = broadcast::channel(2);
        for n in 0..5 {
            tx.send(Arc::from(format!("update {n}"))).unwrap();
        }
        let client = Client::default();
        serve(client.clone(), silent(), "hello".into(), rx).await;
        assert_eq!(
            kinds(&client),
            ["text"],
            "only the hello; it reconnects and starts fresh"
        );
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn each_address_and_the_server_have_their_caps_and_a_dropped_slot_frees_both() {
        let feed = Feed::new(3, 2);
        let a1 = feed.admit(ip("192.0.2.1")).ok().unwrap();
        let _a2 = feed.admit(ip("192.0.2.1")).ok().unwrap();
        assert!(matches!(feed.admit(ip("192.0.2.1")), Err(Full::Address)));
        let _b1 = feed.admit(ip("192.0.2.2")).ok().unwrap();
        assert!(matches!(feed.admit(ip("192.0.2.3")), Err(Full::Server)));
        assert_eq!(feed.clients(), 3, "refusals hold no place");
        drop(a1);
        assert_eq!(feed.clients(), 2);
        assert!(
            feed.admit(ip("192.0.2.1")).is_ok(),
            "the dropped place is free again"
        );
    }

    #[test]
    fn a_per_address_cap_of_zero_is_no_cap_and_empty_addresses_are_forgotten() {
        let feed = Feed::new(100, 0);
        let held: Vec<Slot> = (0..50)
            .map(|_| feed.admit(ip("192.0.2.9")).ok().unwrap())
            .collect();
        assert_eq!(feed.clients(), 50);
        drop(held);
        assert_eq!(feed.clients(), 0);
        assert!(feed.per_address.is_empty(), "no entry left per address");
    }
}
