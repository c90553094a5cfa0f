//! Built-in HTTPS, with self-signed certificates made here: served as configured,
//! replaced on SIGHUP without a restart, a bad replacement refused while the current
//! certificate stays in service, and a bad pair refused at start-up.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::helpers::wait_until;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn self_signed() -> Pair {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    Pair {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
        der: made.cert.der().to_vec(),
    }
}

fn install(dir: &Path, cert: &str, key: &str) {
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
}

/// A client that trusts only this certificate.
fn trusting(pair: &Pair) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let root = Certificate::from_der(&pair.der).to_owned();
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        )
        .build()
        .into()
}

fn healthy(agent: &ureq::Agent, base: &str) -> bool {
    agent
        .get(format!("{base}/api/health"))
        .call()
        .is_ok_and(|r| r.status() == 200)
}

fn goated(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goated"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("GOATED_SERVER__TLS_CERT", dir.join("cert.pem"))
        .env("GOATED_SERVER__TLS_KEY", dir.join("key.pem"));
    cmd
}

struct Server {
    child: Child,
    logs: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_serves_the_configured_certificate_and_sighup_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (self_signed(), self_signed());
    install(dir.path(), &first.cert_pem, &first.key_pem);
    let mut child = goated(dir.path(), &["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let (sink, mut stderr) = (logs.clone(), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let base = crate::helpers::announced_base(&mut child, "https");
    let server = Server { child, logs };
    let (trusts_first, trusts_second) = (trusting(&first), trusting(&second));
    assert!(healthy(&trusts_first, &base));
    assert!(
        !healthy(&trusts_second, &base),
        "only the configured certificate is served"
    );

    // Over HTTPS the refresh cookie is marked Secure.
    let registered = trusts_first
        .post(format!("{base}/api/auth/register"))
        .header("content-type", "application/json")
        .send(
            serde_json::json!({
                "username": "tls_user",
                "password": crate::helpers::PASSWORD,
                "refreshIn": "cookie",
            })
            .to_string(),
        )
        .unwrap();
    assert_eq!(registered.status(), 201);
    let cookie = registered
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("; Secure"),
        "{cookie}"
    );

    // `goated healthcheck` speaks HTTPS when the server does.
    let bind = base.trim_start_matches("https://");
    let check = goated(dir.path(), &["healthcheck", "--bind", bind])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let hangup = || {
        let pid = server.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    // A broken replacement is refused; the current certificate stays in service.
    install(dir.path(), "not a certificate", &second.key_pem);
    hangup();
    wait_until("the refusal to be logged", || {
        server
            .logs
            .lock()
            .unwrap()
            .contains("current certificate stays")
    });
    assert!(healthy(&trusts_first, &base));

    // A renewed certificate is picked up by new connections without a restart.
    install(dir.path(), &second.cert_pem, &second.key_pem);
    hangup();
    wait_until("the new certificate to be served", || {
        healthy(&trusts_second, &base)
    });
    assert!(!healthy(&trusts_first, &base));
}

#[test]
fn a_key_that_does_not_fit_the_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (self_signed(), self_signed());
    install(dir.path(), &first.cert_pem, &second.key_pem);
    let out = goated(dir.path(), &["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not fit") && err.contains("server.tls_cert"),
        "{err}"
    );

    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    let out = goated(dir.path(), &["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.tls_key"));
}

/// Whether the server closed `stream` within `limit` (EOF or reset), rather than keeping
/// it open.
fn closed_within(stream: &mut std::net::TcpStream, limit: std::time::Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn the_connection_cap_per_address_holds_on_https_too() {
    let dir = tempfile::tempdir().unwrap();
    let pair = self_signed();
    install(dir.path(), &pair.cert_pem, &pair.key_pem);
    let mut child = goated(dir.path(), &["serve", "--bind", "127.0.0.1:0"])
        .env("GOATED_SERVER__MAX_CONNECTIONS_PER_IP", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = crate::helpers::announced_base(&mut child, "https");
    let _server = Server {
        child,
        logs: Arc::new(Mutex::new(String::new())),
    };
    let addr = base.trim_start_matches("https://").to_string();
    // Two connections that have not even begun their handshake hold the address's
    // places (the handshake has the header deadline's 10 s); a third is closed at once.
    let mut held: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut third = std::net::TcpStream::connect(&addr).unwrap();
    assert!(
        closed_within(&mut third, std::time::Duration::from_secs(3)),
        "a third connection from one address was kept open"
    );
    assert!(
        !closed_within(&mut held[0], std::time::Duration::from_millis(500)),
        "the first connection was closed"
    );
    drop(held);
    let agent = trusting(&pair);
    wait_until("a freed place serves HTTPS again", || {
        healthy(&agent, &base)
    });
}
