//! gzip into memory, for everything that keeps or sends compressed bytes: the answer
//! cache and static files (`http::compress`, default level) and the last good upstream
//! body (`sync`, fastest level: it is written on every sync).

use std::io::Write;

pub use flate2::Compression;

/// `bytes` gzipped at `level`.
pub fn encode(bytes: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), level);
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}
