//! Deadlines on connections, which poem does not set: a request's headers must arrive
//! within [`HEADERS`] of its first byte (of the connection, for the first request, so a
//! client that connects and sends nothing is covered too), and a kept-alive connection
//! that sends nothing for [`KEEP_ALIVE`] after an answer is closed. Without them a
//! client trickling one header byte every few seconds holds a socket and its buffers
//! for ever, and a few thousand such clients take a small server's sockets.
//!
//! The wrapper reads the bytes as they pass: HTTP/1 headers end at the first blank line
//! (`\r\n\r\n`). Once an answer starts being written the request is done; a
//! `101 Switching Protocols` answer (a WebSocket) and an HTTP/2 connection (whose
//! preface it recognizes) are passed through from then on with no deadline: the feed
//! has its own heartbeat and idle limit. Under TLS the wrapper sits outside the
//! handshake, so a slow handshake counts against the same deadline.
//!
//! Why not hyper's own `http1().header_read_timeout` (hyper 1.12, with a timer): it
//! arms its deadline when hyper starts reading a head, which is right after the answer
//! before, so it is also the keep-alive limit, and the two cannot differ (10 s for
//! headers would close every kept-alive connection after 10 s of quiet, against
//! SPEC §17's 75 s); and it boxes a new timer for every request (`conn.rs` drops it once
//! the head is read), the re-arming this wrapper avoids (about 3 % of the hot path).
//! What hyper does offer is used where it fits: HTTP/2 pings (`http::server`). The
//! other limits of SPEC §17 are not byte-level: a body that stops arriving is the body
//! limit's (`middleware::gate`, answered 408), and a connection with no request in
//! progress, HTTP/2 included, is closed by the connection loop (`http::server`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a request's headers may take to arrive (SPEC §10).
pub const HEADERS: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may stay silent between requests.
pub const KEEP_ALIVE: Duration = Duration::from_secs(75);

const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";
const SWITCHING: &[u8] = b"HTTP/1.1 101";

/// An acceptor whose connections keep the deadlines above.
pub struct Deadlines<A> {
    inner: A,
    headers: Duration,
    keep_alive: Duration,
}

impl<A> Deadlines<A> {
    pub fn new(inner: A) -> Self {
        Self::with(inner, HEADERS, KEEP_ALIVE)
    }

    pub fn with(inner: A, headers: Duration, keep_alive: Duration) -> Self {
        Deadlines {
            inner,
            headers,
            keep_alive,
        }
    }
}

impl<A: Acceptor> Acceptor for Deadlines<A> {
    type Io = Timed<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((
            Timed::new(io, self.headers, self.keep_alive),
            local,
            remote,
            scheme,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request's headers; `matched` counts the bytes of `\r\n\r\n` seen so
    /// far, `first` whether no byte has arrived on the connection yet.
    Headers { matched: u8, first: bool },
    /// Headers complete: the body and the handler take what time they take.
    Handling,
    /// An answer was written; waiting for the next request.
    Idle,
    /// A WebSocket or HTTP/2: no deadline from here on.
    Through,
}

/// A connection with deadlines on headers and on silence between requests.
///
/// The deadline is kept lazily: `deadline` is the real one, and `timer` is only moved
/// when the deadline must come earlier than where it is armed, or when it fires before
/// the real deadline. Deadlines mostly move later (every answer pushes the keep-alive
/// limit back), and re-arming a tokio timer on every read and write cost about 3 % of
/// the hot path's CPU; a request whose headers arrive in one read never needs its
/// header deadline armed at all.
pub struct Timed<T> {
    inner: T,
    phase: Phase,
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
    headers: Duration,
    keep_alive: Duration,
    /// The answer being written has not had its first bytes yet.
    answer_starts: bool,
}

impl<T> Timed<T> {
    fn new(inner: T, headers: Duration, keep_alive: Duration) -> Self {
        let deadline = Instant::now() + headers;
        Timed {
            inner,
            phase: Phase::Headers {
                matched: 0,
                first: true,
            },
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            headers,
            keep_alive,
            answer_starts: true,
        }
    }

    fn has_deadline(&self) -> bool {
        matches!(self.phase, Phase::Headers { .. } | Phase::Idle)
    }

    /// Moves the deadline; the timer is re-armed only when it would fire too late.
    fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if deadline < self.timer.deadline() {
            self.timer.as_mut().reset(deadline);
        }
    }

    /// Whether the real deadline has passed, re-arming a timer that fired early.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= self.deadline {
                return true;
            }
            self.timer.as_mut().reset(self.deadline);
        }
        false
    }

    /// Follows the bytes just read through the phases.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let next_request = self.phase == Phase::Idle;
        if next_request {
            self.phase = Phase::Headers {
                matched: 0,
                first: false,
            };
        }
        let Phase::Headers { mut matched, first } = self.phase else {
            return;
        };
        if first && bytes.starts_with(HTTP2_PREFACE) {
            self.phase = Phase::Through;
            return;
        }
        match find_end(matched, bytes) {
            Ok(()) => {
                self.phase = Phase::Handling;
                self.answer_starts = true;
                return;
            }
            Err(partial) => matched = partial,
        }
        self.phase = Phase::Headers {
            matched,
            first: false,
        };
        if next_request {
            // The next request's headers did not all come at once: from now they have
            // [`HEADERS`] to finish.
            self.set_deadline(Instant::now() + self.headers);
        }
    }

    /// Follows the bytes about to be written.
    fn wrote(&mut self, bytes: &[u8]) {
        if self.phase == Phase::Through || bytes.is_empty() {
            return;
        }
        if self.answer_starts && bytes.starts_with(SWITCHING) {
            self.phase = Phase::Through;
            return;
        }
        self.answer_starts = false;
        // Early answers (a 413 before the body) count as the request being done too.
        self.phase = Phase::Idle;
        self.set_deadline(Instant::now() + self.keep_alive);
    }
}

const HEADERS_END: &[u8] = b"\r\n\r\n";

/// One byte more of the search for `\r\n\r\n`, `matched` of it seen so far.
fn step(matched: u8, b: u8) -> u8 {
    if b == HEADERS_END[matched as usize] {
        matched + 1
    } else if b == b'\r' {
        1
    } else {
        0
    }
}

/// Whether the headers end in `bytes`, given that the `matched` bytes before them began
/// the end; if not, how much of the end the last bytes begin. Every request's bytes go
/// through here, so the common cases go first: a request read whole (it ends with the
/// blank line), then a search by `memchr`; byte by byte it was 4 % of the hot path.
fn find_end(matched: u8, bytes: &[u8]) -> Result<(), u8> {
    if bytes.ends_with(HEADERS_END) {
        return Ok(());
    }
    // An end begun in the previous read finishes in the first three bytes.
    let mut m = matched;
    for &b in &bytes[..bytes.len().min(3)] {
        m = step(m, b);
        if m == 4 {
            return Ok(());
        }
    }
    if bytes.len() <= 3 {
        return Err(m);
    }
    if memchr::memmem::find(bytes, HEADERS_END).is_some() {
        return Ok(());
    }
    // Less than a whole end is in the last three bytes: the longest of them that
    // begins one is what is matched.
    Err(bytes[bytes.len() - 3..].iter().fold(0, |m, &b| step(m, b)))
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the client was too slow sending its request",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for Timed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                // A trickle of bytes does not push the deadline back.
                if matches!(this.phase, Phase::Headers { .. }) && this.deadline <= Instant::now() {
                    return Poll::Ready(Err(timed_out()));
                }
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.has_deadline() && this.poll_deadline(cx) {
                    return Poll::Ready(Err(timed_out()));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &written {
            this.wrote(&buf[..*n]);
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &written
            && *n > 0
        {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            this.wrote(&first[..first.len().min(*n)]);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;

    fn pair() -> (Timed<DuplexStream>, DuplexStream) {
        let (server, client) = duplex(1024);
        (
            Timed::new(server, Duration::from_secs(10), Duration::from_secs(75)),
            client,
        )
    }

    async fn read_some(server: &mut Timed<DuplexStream>) -> io::Result<usize> {
        let mut buf = [0u8; 256];
        server.read(&mut buf).await
    }

    #[tokio::test(start_paused = true)]
    async fn headers_trickled_past_the_deadline_are_refused() {
        let (mut server, mut client) = pair();
        for _ in 0..9 {
            client.write_all(b"X").await.unwrap();
            assert_eq!(read_some(&mut server).await.unwrap(), 1);
            // Nine bytes, 1.2 s apart: the tenth arrives at 10.8 s.
            tokio::time::advance(Duration::from_millis(1200)).await;
        }
        client.write_all(b"X").await.unwrap();
        let err = read_some(&mut server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_closed_at_the_header_deadline() {
        let (mut server, _client) = pair();
        let started = Instant::now();
        let err = read_some(&mut server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn complete_headers_lift_the_deadline_until_the_answer() {
        let (mut server, mut client) = pair();
        client
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n\r\nbody")
            .await
            .unwrap();
        read_some(&mut server).await.unwrap();
        assert_eq!(server.phase, Phase::Handling);
        tokio::time::advance(Duration::from_secs(60)).await;
        // A slow handler is not the client's fault: reads still work.
        client.write_all(b"more").await.unwrap();
        assert_eq!(read_some(&mut server).await.unwrap(), 4);
        server.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(server.phase, Phase::Idle);
        let started = Instant::now();
        let err = read_some(&mut server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(75),
            "keep-alive limit"
        );
    }

    /// One whole request read and answered: the connection is then idle.
    async fn one_exchange(server: &mut Timed<DuplexStream>, client: &mut DuplexStream) {
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        read_some(server).await.unwrap();
        server.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(server.phase, Phase::Idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_request_that_stalls_gets_the_header_deadline_not_keep_alive() {
        let (mut server, mut client) = pair();
        one_exchange(&mut server, &mut client).await;
        tokio::time::advance(Duration::from_secs(30)).await;
        // Half a request, then nothing: its headers have 10 s, though the keep-alive
        // limit set by the answer is 45 s away.
        client.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        read_some(&mut server).await.unwrap();
        let started = Instant::now();
        let err = read_some(&mut server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn each_answer_pushes_the_keep_alive_limit_back() {
        let (mut server, mut client) = pair();
        for _ in 0..3 {
            one_exchange(&mut server, &mut client).await;
            // Past the first request's header deadline and most of a keep-alive period.
            tokio::time::advance(Duration::from_secs(70)).await;
        }
        let started = Instant::now();
        let err = read_some(&mut server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(5),
            "75 s after the last answer"
        );
    }

    /// Byte by byte, as the search was before `find_end`: the reference it must match.
    fn ends_within(bytes: &[u8]) -> Option<usize> {
        let mut m = 0;
        bytes.iter().position(|&b| {
            m = step(m, b);
            m == 4
        })
    }

    #[test]
    fn the_header_end_is_found_however_the_reads_split_it() {
        // Every string of up to 8 bytes of `\r`, `\n` and `x`, split into reads at
        // every pair of points: found as soon as the reference finds it, never before.
        let alphabet = [b'\r', b'\n', b'x'];
        for len in 0..=8u32 {
            for n in 0..3usize.pow(len) {
                let bytes: Vec<u8> = (0..len).map(|i| alphabet[n / 3usize.pow(i) % 3]).collect();
                let want = ends_within(&bytes);
                for a in 0..=bytes.len() {
                    for b in a..=bytes.len() {
                        let mut matched = 0;
                        let mut found = None;
                        for (start, read) in [(0, &bytes[..a]), (a, &bytes[a..b]), (b, &bytes[b..])]
                        {
                            match find_end(matched, read) {
                                Ok(()) => {
                                    found = Some(start + read.len());
                                    break;
                                }
                                Err(m) => matched = m,
                            }
                        }
                        // Found in the read that holds the end's last byte.
                        let read_end =
                            want.map(|i| [a, b, bytes.len()].into_iter().find(|&e| e > i).unwrap());
                        assert_eq!(found, read_end, "{bytes:?} split at {a}, {b}");
                    }
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_header_end_split_across_reads_is_found() {
        let (mut server, mut client) = pair();
        for part in [&b"GET / HTTP/1.1\r\nHost: x\r"[..], b"\n\r", b"\n"] {
            client.write_all(part).await.unwrap();
            read_some(&mut server).await.unwrap();
        }
        assert_eq!(server.phase, Phase::Handling);
    }

    #[tokio::test(start_paused = true)]
    async fn websockets_and_http2_pass_through_without_deadlines() {
        let (mut server, mut client) = pair();
        client
            .write_all(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            .await
            .unwrap();
        read_some(&mut server).await.unwrap();
        server
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(server.phase, Phase::Through);
        tokio::time::advance(Duration::from_secs(3600)).await;
        client.write_all(b"\x89\x00").await.unwrap();
        assert_eq!(read_some(&mut server).await.unwrap(), 2);

        let (mut server, mut client) = pair();
        client
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        read_some(&mut server).await.unwrap();
        assert_eq!(server.phase, Phase::Through);
    }
}
