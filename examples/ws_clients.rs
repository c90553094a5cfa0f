//! Many live-feed clients at once, for `scripts/bench-ws.sh`: opens N WebSockets to
//! `/ws`, holds them idle, waits for the next `leaderboard.updated` that every one of
//! them receives, and reports the server's memory per client and how far apart the
//! first and the last client got that update.
//!
//!     cargo run --release --example ws_clients -- 127.0.0.1:8080 10000 SERVER_PID
//!
//! Its own minimal client (the handshake, and unmasked frames in, masked pongs out), so
//! that 10,000 sockets cost the measuring side little: one small task each.
//! Prints `key value` lines for the script to read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};

/// An update one client received: which version, and when.
struct Seen {
    version: i64,
    at: Instant,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server pid");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn handshake(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 4096 {
            return Err(std::io::Error::other("no handshake answer"));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        return Err(std::io::Error::other(format!(
            "refused: {}",
            line.lines().next().unwrap_or("")
        )));
    }
    Ok(stream)
}

/// Reads frames until the connection ends: texts carrying a version are reported,
/// pings answered.
async fn listen(mut stream: TcpStream, seen: mpsc::UnboundedSender<Seen>) {
    let mut payload = Vec::new();
    loop {
        let mut head = [0u8; 2];
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                if stream.read_exact(&mut ext).await.is_err() {
                    return;
                }
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                if stream.read_exact(&mut ext).await.is_err() {
                    return;
                }
                u64::from_be_bytes(ext)
            }
            n => u64::from(n),
        };
        payload.resize(len as usize, 0);
        if stream.read_exact(&mut payload).await.is_err() {
            return;
        }
        match opcode {
            0x1 => {
                let at = Instant::now();
                let text = String::from_utf8_lossy(&payload);
                if text.contains("\"leaderboard.updated\"") {
                    let version = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["version"].as_i64())
                        .unwrap_or(-1);
                    let _ = seen.send(Seen { version, at });
                }
            }
            0x9 => {
                // A pong, masked (a client's frames always are), with the ping's data.
                let mut frame = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                frame.extend_from_slice(&payload);
                if stream.write_all(&frame).await.is_err() {
                    return;
                }
            }
            0x8 => return,
            _ => {}
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().expect("ADDR").parse().expect("host:port");
    let count: usize = args.next().expect("N").parse().expect("a count");
    let pid: u32 = args.next().expect("SERVER_PID").parse().expect("a pid");

    let before = rss_kib(pid);
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    let gate = Arc::new(Semaphore::new(256));
    let started = Instant::now();
    let mut opening = Vec::with_capacity(count);
    for _ in 0..count {
        let gate = gate.clone();
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            handshake(addr).await
        }));
    }
    let mut open = 0;
    for task in opening {
        match task.await.unwrap() {
            Ok(stream) => {
                open += 1;
                tokio::spawn(listen(stream, tx.clone()));
            }
            Err(err) => {
                eprintln!("a connection failed: {err}");
            }
        }
    }
    println!("connected {open}");
    println!("connect_secs {:.2}", started.elapsed().as_secs_f64());
    // Let the server settle (each connection's first messages sent), then read it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while rx.try_recv().is_ok() {}
    let idle = rss_kib(pid);
    println!("rss_before_kib {before}");
    println!("rss_idle_kib {idle}");
    println!(
        "per_client_bytes {}",
        (idle.saturating_sub(before) * 1024) / open.max(1) as u64
    );

    // The next update that reaches every client, whichever version it is.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut by_version: std::collections::HashMap<i64, Vec<Instant>> = Default::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(seen)) = tokio::time::timeout(left, rx.recv()).await else {
            eprintln!("no update reached every client within a minute");
            std::process::exit(1);
        };
        let times = by_version.entry(seen.version).or_default();
        times.push(seen.at);
        if times.len() == open {
            let first = times.iter().min().unwrap();
            let last = times.iter().max().unwrap();
            let mut sorted = times.clone();
            sorted.sort();
            let median = sorted[sorted.len() / 2].duration_since(*first);
            println!("update_version {}", seen.version);
            println!(
                "spread_ms {:.1}",
                last.duration_since(*first).as_secs_f64() * 1e3
            );
            println!("median_after_first_ms {:.1}", median.as_secs_f64() * 1e3);
            break;
        }
    }
    let after = rss_kib(pid);
    println!("rss_after_update_kib {after}");
    println!(
        "per_client_after_update_bytes {}",
        (after.saturating_sub(before) * 1024) / open.max(1) as u64
    );
}
