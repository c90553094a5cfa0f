//! Built-in HTTPS (`server.tls_cert` / `server.tls_key`) through poem's rustls listener.
//! The PEM files are read and checked at start-up (a bad pair stops start-up with a
//! message naming the file) and again on SIGHUP: a renewed certificate is served to new
//! connections without a restart, and a bad one is refused with a log line while the
//! current one stays in service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};
use poem::listener::{RustlsCertificate, RustlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and key as read from their files, checked to belong together.
pub struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl Pem {
    pub fn read(cert: &Path, key: &Path) -> anyhow::Result<Pem> {
        let cert_pem = std::fs::read(cert)
            .with_context(|| format!("reading server.tls_cert {}", cert.display()))?;
        let key_pem = std::fs::read(key)
            .with_context(|| format!("reading server.tls_key {}", key.display()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .with_context(|| format!("server.tls_cert {} is not PEM", cert.display()))?;
        if chain.is_empty() {
            bail!("server.tls_cert {} holds no certificate", cert.display());
        }
        let private = PrivateKeyDer::from_pem_slice(&key_pem)
            .with_context(|| format!("server.tls_key {} holds no private key", key.display()))?;
        // Building a server configuration checks that the key is usable and is the one
        // the certificate was issued for.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .with_context(|| {
                format!(
                    "server.tls_key {} does not fit server.tls_cert {}",
                    key.display(),
                    cert.display()
                )
            })?;
        Ok(Pem {
            cert: cert_pem,
            key: key_pem,
        })
    }

    fn into_config(self) -> RustlsConfig {
        RustlsConfig::new().fallback(RustlsCertificate::new().cert(self.cert).key(self.key))
    }
}

/// The configurations the listener serves: the one read now, then one per SIGHUP
/// whose files check out.
pub fn config_stream(
    cert: PathBuf,
    key: PathBuf,
) -> anyhow::Result<BoxStream<'static, RustlsConfig>> {
    let first = Pem::read(&cert, &key)?.into_config();
    let reloads = reloads_on_hangup(cert, key)?;
    Ok(stream::once(async move { first }).chain(reloads).boxed())
}

#[cfg(unix)]
fn reloads_on_hangup(
    cert: PathBuf,
    key: PathBuf,
) -> anyhow::Result<BoxStream<'static, RustlsConfig>> {
    use tokio::signal::unix::{SignalKind, signal};
    let hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    Ok(stream::unfold(hangups, move |mut hangups| {
        let (cert, key) = (cert.clone(), key.clone());
        async move {
            loop {
                hangups.recv().await?;
                match Pem::read(&cert, &key) {
                    Ok(pem) => {
                        tracing::info!(cert = %cert.display(), "SIGHUP: TLS certificate reloaded");
                        return Some((pem.into_config(), hangups));
                    }
                    Err(err) => tracing::error!(
                        error = format!("{err:#}"),
                        "SIGHUP: the new TLS files were refused; the current certificate stays"
                    ),
                }
            }
        }
    })
    .boxed())
}

#[cfg(not(unix))]
fn reloads_on_hangup(
    _cert: PathBuf,
    _key: PathBuf,
) -> anyhow::Result<BoxStream<'static, RustlsConfig>> {
    Ok(stream::pending().boxed())
}
