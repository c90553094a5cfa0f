//! The floor of the stack, for `scripts/bench.sh`: poem and hyper on tokio serving one
//! file's bytes at every path, with no middleware, no routing table and no cache
//! lookup. What goated spends above this is ours; what this spends above nginx is
//! the stack's.
//!
//!     cargo run --release --example bare_poem -- 127.0.0.1:18184 body.json [LAYERS]
//!
//! LAYERS (comma-separated) adds goated's own pieces one at a time, to find what costs:
//! `deadlines` (the connection deadlines), `graceful` (poem's graceful shutdown),
//! `route` (a routing table like goated's), `percore` (one single-threaded runtime per
//! core, each accepting on its own `SO_REUSEPORT` listener, as nginx's workers do).

use poem::listener::{Listener, TcpListener};
use poem::{EndpointExt, Response, Route, Server, endpoint::make_sync};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().expect("ADDR");
    let body = bytes::Bytes::from(std::fs::read(args.next().expect("FILE"))?);
    let layers = args.next().unwrap_or_default();
    let has = |l: &str| layers.split(',').any(|x| x == l);
    if has("percore") {
        return per_core(&bind, body);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let page = || {
                let body = body.clone();
                make_sync(move |_| {
                    Response::builder()
                        .content_type("application/json")
                        .body(body.clone())
                })
            };
            let app = if has("route") {
                Route::new()
                    .nest("/api", Route::new().at("/wager-races/current", page()))
                    .at("/*path", page())
                    .boxed()
            } else {
                page().boxed()
            };
            let acceptor = TcpListener::bind(bind).into_acceptor().await?;
            let never = std::future::pending::<()>();
            if has("deadlines") {
                let server =
                    Server::new_with_acceptor(goated::http::deadline::Deadlines::new(acceptor));
                if has("graceful") {
                    server.run_with_graceful_shutdown(app, never, None).await
                } else {
                    server.run(app).await
                }
            } else {
                let server = Server::new_with_acceptor(acceptor);
                if has("graceful") {
                    server.run_with_graceful_shutdown(app, never, None).await
                } else {
                    server.run(app).await
                }
            }
        })
}

/// One current-thread runtime per core, each serving its own `SO_REUSEPORT` listener:
/// the kernel spreads connections over them and no task ever moves between threads.
fn per_core(bind: &str, body: bytes::Bytes) -> std::io::Result<()> {
    let addr: std::net::SocketAddr = bind.parse().expect("ADDR");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(async move {
                        let socket = tokio::net::TcpSocket::new_v4()?;
                        socket.set_reuseport(true)?;
                        socket.set_reuseaddr(true)?;
                        socket.bind(addr)?;
                        let listener = socket.listen(1024)?;
                        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
                        let app = make_sync(move |_| {
                            Response::builder()
                                .content_type("application/json")
                                .body(body.clone())
                        });
                        Server::new_with_acceptor(acceptor).run(app).await
                    })
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a worker panicked")?;
    }
    Ok(())
}
