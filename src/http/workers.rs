//! Plain HTTP served by one single-threaded runtime per core, the way nginx's worker
//! processes serve: one accept loop hands each new connection to the next worker in
//! turn, and that worker alone reads, answers and writes it from then on.
//!
//! On tokio's shared (work-stealing) runtime a connection's task wakes on whichever
//! thread its socket's readiness lands, tasks are stolen between the threads, and an
//! idle thread has to be woken by the busy one: measured with `examples/bare_poem`
//! (`percore` against the default) that cost 12–15 % of the CPU per request and a fifth
//! of the throughput on the hot path's answer. A worker here never shares a connection,
//! so none of that happens. What is not a connection (syncs, the feed's fan-out, the
//! scheduler, notifications, SQLite's blocking calls) stays on the shared runtime the
//! application was built on; a worker's task that waits on it is woken across threads
//! as before.
//!
//! Handing connections over by turn, rather than letting every worker accept on the
//! listener, keeps their number even however the wake-ups fall (a worker that happens
//! to be awake would otherwise take a whole burst of connections), and keeps one
//! ordinary listening socket: a second server started on the same address still fails
//! with "address in use", as it must (`SO_REUSEPORT` would let it quietly take half).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use std::{io, thread};

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::server::{Limits, accepted_or_wait, serve};

/// Connections handed to one worker and not yet taken by it. A worker this far behind
/// holds up the accept loop (the kernel's backlog then queues the rest), not memory.
const QUEUE: usize = 128;

/// How long a stopped worker waits for what its requests left running (a cache
/// refresh) before its runtime is dropped.
const LEFTOVERS: Duration = Duration::from_secs(1);

type Handed = (std::net::TcpStream, SocketAddr);

/// The workers for this machine: one per core the process may use.
pub fn per_core() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// What a worker accepts from: the connections the accept loop hands it, each
/// registered with the worker's own runtime as it is taken.
pub struct Handoff {
    connections: mpsc::Receiver<Handed>,
    local: LocalAddr,
}

impl Acceptor for Handoff {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        let Some((stream, remote)) = self.connections.recv().await else {
            // The accept loop has stopped, and the worker's server is being told so.
            return std::future::pending().await;
        };
        let io = TcpStream::from_std(stream)?;
        Ok((
            io,
            self.local.clone(),
            RemoteAddr(remote.into()),
            Scheme::HTTP,
        ))
    }
}

/// Serves `endpoint` on `workers` threads, each its own single-threaded runtime whose
/// acceptor is `wrap` around the connections handed to it (the connection deadlines,
/// say), each connection held to `limits` (shared: the per-address cap counts across
/// the workers), until `shutdown` completes; then every worker lets its connections finish for
/// up to `grace`, as [`serve`] does. Dropping the returned future stops
/// the workers the same way.
pub async fn serve_per_core<A, E, W>(
    listener: TcpListener,
    endpoint: E,
    wrap: W,
    limits: Limits,
    workers: usize,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    A: Acceptor + 'static,
    E: Endpoint<Output = Response> + 'static,
    W: Fn(Handoff) -> A + Send + Sync + 'static,
{
    let local = LocalAddr(listener.local_addr()?.into());
    let (endpoint, wrap) = (Arc::new(endpoint), Arc::new(wrap));
    // Nothing is ever sent: the sender's drop (here, or with this future) is the stop.
    let (stop, stopped) = watch::channel(());
    let mut queues = Vec::with_capacity(workers);
    let mut finished = Vec::with_capacity(workers);
    for i in 0..workers.max(1) {
        let (queue, connections) = mpsc::channel(QUEUE);
        let (done, finished_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (endpoint, wrap, mut stopped, local, limits) = (
            endpoint.clone(),
            wrap.clone(),
            stopped.clone(),
            local.clone(),
            limits.clone(),
        );
        thread::Builder::new()
            .name(format!("goated-http-{i}"))
            .spawn(move || {
                let stopping = async move { while stopped.changed().await.is_ok() {} };
                let served = runtime.block_on(async move {
                    let acceptor = wrap(Handoff { connections, local });
                    serve(acceptor, endpoint, limits, stopping, grace).await
                });
                runtime.shutdown_timeout(LEFTOVERS);
                let _ = done.send(served);
            })?;
        queues.push(queue);
        finished.push(finished_rx);
    }
    drop(stopped);
    tokio::pin!(shutdown);
    let mut next = 0;
    let outcome = loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            accepted = listener.accept() => accepted,
        };
        let Some((stream, remote)) = accepted_or_wait(accepted).await else {
            continue;
        };
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(error = %err, "a connection could not be handed to a worker");
                continue;
            }
        };
        let worker = next;
        next = (next + 1) % queues.len();
        let sent = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            sent = queues[worker].send((stream, remote)) => sent,
        };
        if sent.is_err() {
            break Err(io::Error::other(format!(
                "HTTP worker {worker} has stopped"
            )));
        }
    };
    // New connections are refused from here; the workers finish what they hold.
    drop(listener);
    drop(stop);
    drop(queues);
    let mut ended = Ok(());
    for worker in finished {
        let result = worker
            .await
            .unwrap_or_else(|_| Err(io::Error::other("an HTTP worker panicked")));
        ended = ended.and(result);
    }
    outcome.and(ended)
}

#[cfg(test)]
mod tests {
    use poem::EndpointExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Per-core workers on a free loopback port whose one endpoint answers with the
    /// name of the thread that ran it; with the address and the serving task.
    async fn thread_naming_server(
        workers: usize,
        grace: Duration,
    ) -> (SocketAddr, tokio::task::JoinHandle<io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint =
            poem::endpoint::make_sync(|_| thread::current().name().unwrap_or("unnamed").to_owned())
                .map_to_response();
        let never = std::future::pending::<()>();
        let server = tokio::spawn(serve_per_core(
            listener,
            endpoint,
            |handed| handed,
            Limits::none(),
            workers,
            never,
            grace,
        ));
        (addr, server)
    }

    /// Sends one keep-alive request on `client` and returns the answer's body.
    async fn ask(client: &mut TcpStream) -> String {
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
                .await
                .expect("answered")
                .unwrap();
            assert!(n > 0, "closed before answering");
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .expect("a length")
                    .parse()
                    .unwrap();
                if body.len() >= length {
                    return body.to_owned();
                }
            }
        }
    }

    #[tokio::test]
    async fn connections_go_to_the_workers_in_turn_and_each_stays_on_its_own() {
        let (addr, _server) = thread_naming_server(2, Duration::from_secs(5)).await;
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut seen = Vec::new();
        for client in &mut clients {
            seen.push(ask(client).await);
        }
        assert_eq!(
            seen,
            [
                "goated-http-0",
                "goated-http-1",
                "goated-http-0",
                "goated-http-1"
            ]
        );
        // A connection's later requests are answered by the worker that took it.
        for (client, first) in clients.iter_mut().zip(&seen) {
            assert_eq!(&ask(client).await, first);
        }
        // One ordinary listening socket: a second server on the address is refused.
        let second = TcpListener::bind(addr).await;
        assert_eq!(
            second.map(|_| ()).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    }

    #[tokio::test]
    async fn dropping_the_server_closes_its_listener_and_the_idle_connections_its_workers_hold() {
        let (addr, server) = thread_naming_server(2, Duration::from_secs(5)).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut idle).await, "goated-http-0");
        server.abort();
        let _ = server.await;
        // Told to stop, the worker closes the connection that waits for its next request.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest))
            .await
            .expect("the idle connection is closed once the server is gone");
        assert!(read.is_err() || rest.is_empty(), "{rest:?}");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the listener is closed"
        );
    }
}
