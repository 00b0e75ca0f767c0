//! Metric values after a known sequence of requests (feature `metrics`). One test per
//! process: it installs the global recorder.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tower_flash_testkit::harness as common;

use std::collections::HashMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower_flash::{ClientId, FlashLayer, Level, MemoryStore, Message};

use common::{Client, app, key};

#[tokio::test]
async fn metrics_count_pushed_delivered_expired_dropped_and_store_calls() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let layer = FlashLayer::new(MemoryStore::new(), key())
        .secure(false)
        .max_messages(3);
    let sender = layer.sender();
    let client = Client::new(&app(layer));
    // 2 pushed, then 2 delivered.
    client
        .run(|flash| async move { flash.push_all("info", ["a", "b"]).unwrap() })
        .await;
    assert_eq!(client.take_texts().await, ["a", "b"]);
    // 1 pushed that expires before it is read: 1 expired, 0 delivered.
    client
        .run(|flash| async move {
            let short = Message::new(Level::Info, "soon gone").expires_in(Duration::from_millis(1));
            flash.push_message(short).unwrap()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(client.take_texts().await.is_empty());
    // 3 + 2 pushed over a cap of 3: 2 dropped.
    client
        .run(|flash| async move { flash.push_all("info", ["1", "2", "3"]).unwrap() })
        .await;
    let id = client
        .run(|flash| async move { flash.client_id().unwrap() })
        .await;
    sender
        .send_all(&id, ["4", "5"].map(|t| Message::new(Level::Info, t)))
        .await
        .unwrap();
    assert_eq!(client.take_texts().await, ["3", "4", "5"]);
    // A store error.
    let broken = FlashLayer::new(MemoryStore::with_max_bytes(16), key()).secure(false);
    let stranger = ClientId::random();
    let _ = broken
        .sender()
        .send(&stranger, Message::new(Level::Info, "too big"))
        .await;

    let mut counters: HashMap<String, u64> = HashMap::new();
    let mut timings: HashMap<String, usize> = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(n) => {
                counters.insert(name, n);
            }
            DebugValue::Histogram(samples) => {
                timings.insert(name, samples.len());
            }
            DebugValue::Gauge(_) => {}
        }
    }
    println!("{counters:?}\n{timings:?}");
    assert_eq!(
        counters["tower_flash_messages_pushed_total{}"],
        2 + 1 + 3 + 2
    );
    assert_eq!(counters["tower_flash_messages_delivered_total{}"], 2 + 3);
    assert_eq!(counters["tower_flash_messages_expired_total{}"], 1);
    assert_eq!(counters["tower_flash_messages_dropped_total{}"], 2);
    assert_eq!(counters["tower_flash_store_errors_total{op=push}"], 1);
    // 5 pushes (4 through requests and the sender, 1 failed), and takes.
    assert_eq!(timings["tower_flash_store_duration_seconds{op=push}"], 5);
    assert_eq!(timings["tower_flash_store_duration_seconds{op=take}"], 3);
}
