//! A stand-in Goated.com for benchmarks and the soak script: the same fake the tests
//! use, serving N generated players on 127.0.0.1 until killed.
//!
//!     cargo run --release --example fake_upstream -- 100000 [CHURN_PERCENT]
//!
//! With a churn, every answer after the first has that share of the players who
//! wagered wager more (a real board between two syncs: most rows unchanged, some
//! grown); without one, every answer is the same.
//! Prints `http://127.0.0.1:PORT` on its first line; the referral code is TEST123 and
//! the accepted tokens `good-token` and `good-token-1` … `good-token-100`.
//! `POST /control/sticky/KIND` makes every answer a fault (see `control` in the fake).

#[allow(dead_code)]
#[path = "../tests/api/fake_upstream.rs"]
mod fake_upstream;

use fake_upstream::{FakeUpstream, player};

/// Deterministic players: about 60 % never wagered, the rest with spread-out amounts.
/// In answer `generation`, the first `churn` of every 100 players who wagered have
/// wagered $12.34 more per generation. They come in an order unrelated to their uids,
/// as Goated.com's do (its uids are random Firestore ids, its board is in rank order):
/// a payload in uid order would let every b-tree insert land at the end of its index.
fn players(count: usize, generation: usize, churn: usize) -> Vec<serde_json::Value> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut placed = (0..count)
        .map(|i| {
            let r = next();
            let amount = if r % 10 < 6 {
                0.0
            } else if i % 100 < churn {
                (next() % 5_000_000) as f64 / 100.0 + 0.123456789 + 12.34 * generation as f64
            } else {
                (next() % 5_000_000) as f64 / 100.0 + 0.123456789
            };
            // A fixed shuffle: the same player has the same place in every answer.
            let place = goated::upstream::demo::mix(i as u64);
            let one = player(
                &format!("u{i:019}"),
                &format!("Player{}", r % 1_000_000),
                amount,
            );
            (place, one)
        })
        .collect::<Vec<_>>();
    placed.sort_unstable_by_key(|(place, _)| *place);
    placed.into_iter().map(|(_, one)| one).collect()
}

fn main() {
    let arg = |n: usize| std::env::args().nth(n).and_then(|a| a.parse().ok());
    let count = arg(1).unwrap_or(2500);
    let churn: usize = arg(2).unwrap_or(0).min(100);
    let upstream = FakeUpstream::start(players(count, 0, churn));
    // Tokens a script may switch to after making the fake refuse one (the soak does).
    for n in 1..=100 {
        upstream.accept_token(&format!("good-token-{n}"));
    }
    println!("{}", upstream.base_url());
    eprintln!(
        "fake upstream: {count} players ({churn} % churn an answer), referral code TEST123, token good-token"
    );
    if churn == 0 {
        loop {
            std::thread::park();
        }
    }
    // After each answer, the next one's players (made here, off the serving threads).
    let mut answered = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = upstream.request_count();
        if now != answered {
            answered = now;
            upstream.set_players(players(count, answered, churn));
        }
    }
}
