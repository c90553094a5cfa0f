//! What happened, for whoever listens (the WebSocket feed, caches).

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A sync landed: new data, with `version` the id of the sync run that brought it.
    /// `at`: when its answer was received (as stored); listeners judge the races as of
    /// then, not as of whenever they get to the event.
    LeaderboardUpdated {
        race_id: String,
        version: i64,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// A race's final result was stored.
    RaceCompleted { race_id: String },
}

pub type Events = tokio::sync::broadcast::Sender<Event>;

pub fn channel() -> Events {
    tokio::sync::broadcast::channel(64).0
}
