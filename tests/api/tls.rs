//! The gateway serving HTTPS itself (`tls_cert_file`, `tls_key_file`): the real binary over
//! real sockets, with self-signed certificates made at test time and clients that trust only
//! those. HTTPS with HSTS (on proxied responses too, whose upstream is told `https`), ALPN
//! `http/1.1` only, plain HTTP on that port refused; SIGHUP giving new connections a renewed
//! certificate while an open one carries on; a broken renewal keeping the old certificate with
//! no word of the key in the log; a client that never finishes its handshake closed at the
//! header timeout; and a start refused, naming the file, when the keys or files are unusable.

use portcullis_tests::raw_http::KeptAlive;
use portcullis_tests::replica::{binary, Replica};
use portcullis_tests::tier::{tier, TestStorage};
use portcullis_tests::tls::{self, CertificateFiles, SelfSigned};
use portcullis_tests::{eventually, EchoUpstream};
use reqwest::StatusCode;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

const HSTS: &str = "max-age=31536000";
const HTTP_1_1: &[u8] = b"http/1.1";
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// Scheduling slack on top of a server deadline, on a busy machine.
const MARGIN: Duration = Duration::from_secs(2);

/// A replica serving HTTPS with the certificate in `files`, logging to `log`.
struct TlsGateway {
    replica: Replica,
    files: CertificateFiles,
    log: PathBuf,
    _dir: TempDir,
    _storage: TestStorage,
}

impl TlsGateway {
    async fn start(first: &SelfSigned, settings: &[(&str, &str)]) -> Self {
        let storage = TestStorage::create(tier()).await;
        let files = CertificateFiles::holding(first);
        let dir = TempDir::new().expect("temporary directory");
        let log = dir.path().join("portcullis.log");
        let tls_settings = files.settings();
        let mut all: Vec<(&str, &str)> = tls_settings
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        all.extend_from_slice(settings);
        let replica =
            Replica::start_tls_logging_to(&storage, &all, tls::https_client(first), &log).await;
        Self {
            replica,
            files,
            log,
            _dir: dir,
            _storage: storage,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.replica.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A configuration file proxying `/echo` to `upstream`, for everyone.
fn proxy_config(dir: &TempDir, upstream: &EchoUpstream) -> PathBuf {
    let path = dir.path().join("portcullis.toml");
    let toml = format!(
        "[[upstreams]]\nprefix = \"/echo\"\nurl = \"{}\"\n\n\
         [[routes]]\nprefix = \"/echo\"\naccess = \"public\"\n",
        upstream.base()
    );
    std::fs::write(&path, toml).expect("write the configuration");
    path
}

#[tokio::test]
async fn https_answers_with_hsts_offers_only_http_1_1_and_plain_http_on_its_port_fails() {
    let upstream = EchoUpstream::start().await;
    let config_dir = TempDir::new().expect("temporary directory");
    let config = proxy_config(&config_dir, &upstream);
    let config = config.display().to_string();
    let pair = SelfSigned::ecdsa();
    let gateway = TlsGateway::start(&pair, &[("PORTCULLIS_CONFIG", &config)]).await;
    let client = tls::https_client(&pair);

    let healthz = client
        .get(gateway.url("/healthz"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(healthz.status(), StatusCode::OK);
    assert_eq!(healthz.headers()["strict-transport-security"], HSTS);

    let proxied = client
        .get(gateway.url("/echo/hello"))
        .send()
        .await
        .expect("proxied HTTPS request");
    assert_eq!(proxied.status(), StatusCode::OK);
    assert_eq!(proxied.headers()["strict-transport-security"], HSTS);
    let echoed: serde_json::Value = proxied.json().await.expect("the echo");
    assert_eq!(echoed["headers"]["x-forwarded-proto"], "https", "{echoed}");

    let addr = gateway.replica.addr();
    let negotiated = tls::connect(addr, &[&pair], &[b"h2", HTTP_1_1])
        .await
        .expect("a handshake offering h2 and http/1.1");
    assert_eq!(negotiated.get_ref().1.alpn_protocol(), Some(HTTP_1_1));
    let h2_only = tls::connect(addr, &[&pair], &[b"h2"]).await;
    assert!(h2_only.is_err(), "a client offering only h2 was accepted");
    let no_alpn = tls::connect(addr, &[&pair], &[]).await;
    assert!(no_alpn.is_ok(), "a client offering no ALPN: {no_alpn:?}");

    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
}

#[tokio::test]
async fn sighup_gives_new_connections_the_new_certificate_while_an_open_one_carries_on() {
    let (first, renewed) = (SelfSigned::ecdsa(), SelfSigned::rsa());
    let gateway = TlsGateway::start(&first, &[]).await;
    let addr = gateway.replica.addr();
    let stream = tls::connect(addr, &[&first], &[HTTP_1_1])
        .await
        .expect("handshake");
    let mut before = KeptAlive::over(stream);
    before.send(HEALTHZ).await.expect("send");
    let answer = before.response().await.expect("an answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("strict-transport-security"), Some(HSTS));
    assert_eq!(tls::presented(before.stream()), first.der);

    gateway.files.write(&renewed);
    gateway.replica.hang_up();
    eventually(
        "a new connection is presented the renewed certificate",
        async || {
            let stream = tls::connect(addr, &[&first, &renewed], &[HTTP_1_1])
                .await
                .expect("handshake with either certificate");
            tls::presented(&stream) == renewed.der
        },
    )
    .await;

    let stream = tls::connect(addr, &[&renewed], &[HTTP_1_1])
        .await
        .expect("a handshake trusting only the renewed certificate");
    let mut after = KeptAlive::over(stream);
    after.send(HEALTHZ).await.expect("send");
    assert_eq!(after.response().await.expect("an answer").status, 200);
    let old_only = tls::connect(addr, &[&first], &[HTTP_1_1]).await;
    assert!(old_only.is_err(), "the old certificate is still presented");

    // The connection opened before the reload: the same session, another request.
    before
        .send(HEALTHZ)
        .await
        .expect("send on the open connection");
    let answer = before
        .response()
        .await
        .expect("the open connection still answers");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(tls::presented(before.stream()), first.der);
}

#[tokio::test]
async fn a_broken_renewal_keeps_the_previous_certificate_and_logs_no_key_material() {
    let first = SelfSigned::ecdsa();
    let gateway = TlsGateway::start(&first, &[]).await;
    let addr = gateway.replica.addr();
    // Half written, as a renewal caught mid-copy: the new chain, the key's first lines only.
    let renewed = SelfSigned::ecdsa();
    let key_lines: Vec<&str> = renewed.key_pem.lines().collect();
    let half_key = key_lines[..2].join("\n");
    std::fs::write(&gateway.files.chain, &renewed.chain_pem).expect("write the chain");
    std::fs::write(&gateway.files.key, &half_key).expect("write half the key");
    gateway.replica.hang_up();
    eventually("the failed reload is logged", async || {
        gateway.log().contains("reload failed")
    })
    .await;

    let stream = tls::connect(addr, &[&first], &[HTTP_1_1])
        .await
        .expect("the previous certificate is still presented");
    assert_eq!(tls::presented(&stream), first.der);
    let mut kept = KeptAlive::over(stream);
    kept.send(HEALTHZ).await.expect("send");
    assert_eq!(kept.response().await.expect("an answer").status, 200);

    let log = gateway.log();
    assert!(log.contains("key.pem"), "the log names the file: {log}");
    for pem in [&renewed.key_pem, &first.key_pem] {
        for line in pem.lines().filter(|line| !line.starts_with("-----")) {
            assert!(!log.contains(line), "key material in the log: {log}");
        }
    }

    // Once the files are whole, the next SIGHUP serves them.
    gateway.files.write(&renewed);
    gateway.replica.hang_up();
    eventually("the renewed certificate is presented", async || {
        let stream = tls::connect(addr, &[&first, &renewed], &[HTTP_1_1])
            .await
            .expect("handshake with either certificate");
        tls::presented(&stream) == renewed.der
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_closed_at_the_header_timeout() {
    let pair = SelfSigned::ecdsa();
    let gateway = TlsGateway::start(&pair, &[("PORTCULLIS_HTTP_HEADER_TIMEOUT", "1s")]).await;
    let addr = gateway.replica.addr();
    let silent = TcpStream::connect(addr).await.expect("connect");
    let mut partial = TcpStream::connect(addr).await.expect("connect");
    // A handshake record's header promising 512 bytes that never come.
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .expect("send");
    let opened = Instant::now();
    for (client, mut stream) in [("silent", silent), ("partial", partial)] {
        let closed = closed_within(&mut stream, HEADER_TIMEOUT + MARGIN * 2).await;
        let after = closed.map(|_| opened.elapsed());
        let after = after.unwrap_or_else(|| panic!("the {client} client is still connected"));
        assert!(
            after >= HEADER_TIMEOUT - Duration::from_millis(100),
            "the {client} client was closed after {after:?}, before the header timeout"
        );
        assert!(
            after < HEADER_TIMEOUT + MARGIN,
            "the {client} client was closed only after {after:?}"
        );
    }
    let client = tls::https_client(&pair);
    let healthz = client.get(gateway.url("/healthz")).send().await;
    assert_eq!(healthz.expect("HTTPS request").status(), StatusCode::OK);
}

#[tokio::test]
async fn a_start_with_one_tls_key_or_an_unusable_file_is_refused_naming_the_file() {
    let storage = TestStorage::create(tier()).await;
    let pair = SelfSigned::ecdsa();
    let files = CertificateFiles::holding(&pair);
    let (chain, key) = (
        files.chain.display().to_string(),
        files.key.display().to_string(),
    );
    let dir = TempDir::new().expect("temporary directory");
    let garbage = dir.path().join("garbage.pem");
    let secret = "c2VjcmV0IGtleSBtYXRlcmlhbCBuZXZlciB0byBiZSBzaG93bg";
    let garbage_key = format!("-----BEGIN PRIVATE KEY-----\n{secret}\n");
    std::fs::write(&garbage, garbage_key).expect("write the garbage");
    let garbage = garbage.display().to_string();
    let absent = dir.path().join("absent.pem").display().to_string();
    #[rustfmt::skip]
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("PORTCULLIS_TLS_CERT_FILE", &chain)], "tls_cert_file is set but tls_key_file is not"),
        (&[("PORTCULLIS_TLS_KEY_FILE", &key)], "tls_key_file is set but tls_cert_file is not"),
        (&[("PORTCULLIS_TLS_CERT_FILE", &chain), ("PORTCULLIS_TLS_KEY_FILE", &garbage)], "garbage.pem is not valid PEM"),
        (&[("PORTCULLIS_TLS_CERT_FILE", &key), ("PORTCULLIS_TLS_KEY_FILE", &key)], "key.pem holds no certificate"),
        (&[("PORTCULLIS_TLS_CERT_FILE", &absent), ("PORTCULLIS_TLS_KEY_FILE", &key)], "cannot read"),
    ];
    for (settings, message) in cases {
        let output = Command::new(binary())
            .arg("serve")
            .envs(storage.env())
            .env("PORTCULLIS_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("portcullis runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{settings:?} started: {stderr}");
        assert!(stderr.contains(message), "{settings:?}: {stderr}");
        assert!(!stderr.contains(secret), "{stderr}");
        if message == "cannot read" {
            assert!(stderr.contains(&absent), "{stderr}");
        }
    }
}

/// Waits, at most `limit`, for the server to close `stream`; `None` if it is still open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<()> {
    let since = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match timeout(limit.saturating_sub(since.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}
