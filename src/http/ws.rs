//! `GET /ws`: live updates. Each event becomes one JSON message, built once and fanned
//! out to every client. Clients only listen: anything but ping, pong and close ends the
//! connection. A client that falls behind or stops answering is dropped without holding
//! up the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::websocket::{CloseCode, Message, WebSocket};
use poem::{IntoResponse, Response, handler};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::{ApiError, ErrorCode};
use crate::app::AppState;
use crate::domain::RaceId;
use crate::domain::ranking::Standing;
use crate::events::Event;
use crate::read::ReadModel;

const HEARTBEAT: Duration = Duration::from_secs(25);
/// A client silent (no pong, no ping) for this long is gone.
const IDLE_LIMIT: Duration = Duration::from_secs(70);
/// A send that takes longer means the client cannot keep up.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const TOP: usize = 5;

/// The fan-out: prepared messages and the count of connected clients.
pub struct Feed {
    messages: broadcast::Sender<Arc<str>>,
    clients: AtomicUsize,
    max_clients: usize,
}

impl Feed {
    pub fn new(max_clients: usize) -> Arc<Feed> {
        Arc::new(Feed {
            messages: broadcast::channel(16).0,
            clients: AtomicUsize::new(0),
            max_clients,
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
        Event::LeaderboardUpdated { race_id, version } => {
            let race = read.current_race().await?;
            if race.id.to_string() != *race_id {
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
            let Some(id) = RaceId::parse(race_id) else {
                return Ok(None);
            };
            let Some(race) = read.final_race(id).await? else {
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

/// Holds a client's place under the cap until the connection ends (or never starts).
struct Slot(Arc<Feed>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

#[handler]
pub fn connect(ws: WebSocket, state: Data<&Arc<AppState>>) -> Response {
    let feed = state.feed.clone();
    if feed.clients.fetch_add(1, Ordering::Relaxed) >= feed.max_clients {
        feed.clients.fetch_sub(1, Ordering::Relaxed);
        let err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "Too many live connections right now; the page falls back to polling.",
        );
        return err.into_response();
    }
    let slot = Slot(feed.clone());
    let hello = json!({
        "type": "hello",
        "raceId": state.read.current_race_id().to_string(),
        "version": state.sync.read().data_version(),
    })
    .to_string();
    let updates = feed.messages.subscribe();
    ws.on_upgrade(move |socket| async move {
        let _slot = slot;
        serve(socket, hello, updates).await;
    })
    .into_response()
}

async fn serve(
    socket: poem::web::websocket::WebSocketStream,
    hello: String,
    mut updates: broadcast::Receiver<Arc<str>>,
) {
    let (mut sink, mut stream) = socket.split();
    if sink.send(Message::Text(hello)).await.is_err() {
        return;
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
                _ => break,
            },
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(outgoing)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
}
