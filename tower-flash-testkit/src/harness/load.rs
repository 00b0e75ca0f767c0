//! Requests under way while a test breaks the store: users, each with its own client id,
//! push then take through a real `Router`, recording every acknowledged push, every message
//! received, every failure and the slowest request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use http::StatusCode;
use tower_flash::store::Store;
use tower_flash::{ClientId, FlashLayer, OnStoreError};

use super::{Client, app, key};

#[derive(Clone)]
struct UserId(usize);

pub fn user_id(user: usize) -> ClientId {
    ClientId::new(&format!("user:{user}")).unwrap()
}

/// An app whose clients are users named by a request extension (`user:<n>`), so that the
/// test knows each client's key; a push that cannot be stored answers 500.
pub fn user_app<S: Store>(store: S) -> Router {
    user_app_with(store, |layer| layer)
}

/// The same, with the layer configured further by `configure` (delivery confirmation...).
pub fn user_app_with<S: Store>(
    store: S,
    configure: impl FnOnce(FlashLayer) -> FlashLayer,
) -> Router {
    app(configure(
        FlashLayer::new(store, key())
            .secure(false)
            .on_store_error(OnStoreError::Fail)
            .identify(|req| {
                let user = req.extensions.get::<UserId>()?;
                Some(user_id(user.0))
            }),
    ))
}

pub fn as_user(router: &Router, user: usize) -> Client {
    Client::new(&router.clone().layer(axum::Extension(UserId(user))))
}

/// What one user saw.
#[derive(Default, Debug)]
pub struct UserLog {
    pub user: usize,
    /// Pushes answered 200, with when they were answered.
    pub acked: Vec<(String, Instant)>,
    /// Messages taken, with when the take was answered.
    pub received: Vec<(String, Instant)>,
    pub failed_pushes: usize,
    pub failed_takes: usize,
    /// Every request: when it started, how long it took, whether it succeeded.
    pub outcomes: Vec<Outcome>,
}

impl UserLog {
    /// Records a request started at `started` and answered now.
    fn record(&mut self, started: Instant, ok: bool) {
        self.outcomes.push(Outcome {
            started,
            took: started.elapsed(),
            ok,
        });
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub started: Instant,
    pub took: Duration,
    pub ok: bool,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<UserLog>>,
}

impl Load {
    /// Starts one worker per user: push `u<user>-<n>`, take everything, pause `pause`,
    /// until stopped.
    pub fn start(router: &Router, users: &[usize], pause: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = users
            .iter()
            .map(|&user| {
                let client = as_user(router, user);
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut log = UserLog {
                        user,
                        ..UserLog::default()
                    };
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let text = format!("u{user}-{n}");
                        n += 1;
                        let sent = text.clone();
                        let started = Instant::now();
                        let (_, res) = client
                            .run_with_response(move |flash| async move {
                                flash.info(sent).unwrap();
                            })
                            .await;
                        let ok = match res.status() {
                            StatusCode::OK => {
                                log.acked.push((text, Instant::now()));
                                true
                            }
                            StatusCode::INTERNAL_SERVER_ERROR => {
                                log.failed_pushes += 1;
                                false
                            }
                            other => panic!("unexpected status {other}"),
                        };
                        log.record(started, ok);
                        let started = Instant::now();
                        let got = client
                            .run(|flash| async move {
                                flash.try_take_all().await.map(|m| {
                                    m.into_iter()
                                        .map(|m| m.into_text())
                                        .collect::<Vec<String>>()
                                })
                            })
                            .await;
                        log.record(started, got.is_ok());
                        match got {
                            Ok(texts) => {
                                let now = Instant::now();
                                log.received
                                    .extend(texts.into_iter().map(|t: String| (t, now)));
                            }
                            Err(_) => log.failed_takes += 1,
                        }
                        tokio::time::sleep(pause).await;
                    }
                    log
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers, then takes what is left for each user (retrying for up to 10 s),
    /// and returns the logs.
    pub async fn finish(self, router: &Router) -> Vec<UserLog> {
        self.stop.store(true, Ordering::Relaxed);
        let mut logs = Vec::new();
        for worker in self.workers {
            logs.push(worker.await.expect("a worker panicked"));
        }
        for log in &mut logs {
            let client = as_user(router, log.user);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = client
                    .run(|flash| async move {
                        flash
                            .try_take_all()
                            .await
                            .map(|m| m.into_iter().map(|m| m.into_text()).collect::<Vec<_>>())
                    })
                    .await;
                match got {
                    Ok(texts) => {
                        let now = Instant::now();
                        log.received.extend(texts.into_iter().map(|t| (t, now)));
                        break;
                    }
                    Err(e) => assert!(Instant::now() < deadline, "draining user {}: {e}", log.user),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        logs
    }
}

/// Delivery accounting over all users.
#[derive(Default)]
pub struct Tally {
    pub requests: usize,
    pub acked: usize,
    pub delivered: usize,
    pub duplicates: usize,
    /// For each message delivered more than once, when it was first delivered.
    pub duplicated_first_at: Vec<Instant>,
    pub foreign: usize,
    /// Acknowledged pushes never delivered, with when they were acknowledged.
    pub lost: Vec<(String, Instant)>,
    pub failed_pushes: usize,
    pub failed_takes: usize,
    pub slowest: Duration,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "requests={} acked={} delivered={} failed pushes={} failed takes={} duplicates={} \
             foreign={} lost={} slowest={:?}",
            self.requests,
            self.acked,
            self.delivered,
            self.failed_pushes,
            self.failed_takes,
            self.duplicates,
            self.foreign,
            self.lost.len(),
            self.slowest
        )
    }
}

impl Tally {
    /// Failed requests, as a share of all.
    pub fn failure_rate(&self) -> f64 {
        (self.failed_pushes + self.failed_takes) as f64 / self.requests.max(1) as f64
    }
}

pub fn tally<'a>(logs: impl IntoIterator<Item = &'a UserLog>) -> Tally {
    let mut t = Tally::default();
    for log in logs {
        t.requests += log.outcomes.len();
        t.acked += log.acked.len();
        t.failed_pushes += log.failed_pushes;
        t.failed_takes += log.failed_takes;
        t.slowest = log
            .outcomes
            .iter()
            .map(|o| o.took)
            .fold(t.slowest, Duration::max);
        let own = format!("u{}-", log.user);
        let mut seen: HashMap<&str, (usize, Instant)> = HashMap::new();
        for (text, at) in &log.received {
            if !text.starts_with(&own) {
                t.foreign += 1;
            }
            seen.entry(text).or_insert((0, *at)).0 += 1;
        }
        t.delivered += seen.len();
        for (n, first) in seen.values() {
            if *n > 1 {
                t.duplicates += n - 1;
                t.duplicated_first_at.push(*first);
            }
        }
        for (text, at) in &log.acked {
            if !seen.contains_key(text.as_str()) {
                t.lost.push((text.clone(), *at));
            }
        }
    }
    t
}
