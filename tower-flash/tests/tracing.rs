//! Store calls run in `flash_store` spans that name the client by a hash, never by its id:
//! the id is a bearer token for the client's messages, and logs travel far.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;

use std::io;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tower_flash::{ClientId, FlashLayer, MemoryStore};
use tracing_subscriber::fmt::format::FmtSpan;

use common::{Client, app, key};

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn store_spans_carry_a_hash_of_the_client_id_and_never_the_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret = "user:secret-bearer-token-1234";
    let layer = FlashLayer::new(MemoryStore::new(), key())
        .secure(false)
        .identify(move |_| ClientId::new(secret).ok());
    let client = Client::new(&app(layer));
    client
        .run(|flash| async move { flash.info("hello").unwrap() })
        .await;
    assert_eq!(client.take_texts().await, ["hello"]);

    let digest = Sha256::digest(secret.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let log = captured.text();
    for op in ["push", "take"] {
        let span = format!("flash_store{{op=\"{op}\" client={hash}}}");
        assert!(log.contains(&span), "no span {span} in:\n{log}");
    }
    assert!(
        !log.contains("secret-bearer-token"),
        "the raw id leaked:\n{log}"
    );
}
