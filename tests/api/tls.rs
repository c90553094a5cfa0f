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
