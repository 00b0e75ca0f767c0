//! The load generator: virtual users, each with its own cookie jar and keep-alive
//! connections, running one scenario against any server of `bench/CONTRACT.md`, with
//! latencies in an HDR histogram and correctness counters.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::client::{Reply, User};

/// What each virtual user does, over and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET /bare`: the framework without the flash layer (the baseline).
    Bare,
    /// `GET /health`: the layer present, no message touched.
    Health,
    /// `GET /set` → 302 → `GET /read`, checking that the user reads exactly its own message,
    /// once.
    Cycle,
    /// `GET /read` with a cookie and nothing pending.
    ReadEmpty,
    /// 3 pushes, then 2 concurrent reads with the same cookie: every message exactly once.
    Race,
    /// `GET /set` only, never read: one message per user, or `--rounds` (for
    /// memory-per-message figures).
    Fill,
}

impl Scenario {
    /// Every scenario a benchmark run measures, in report order.
    pub const MEASURED: [Scenario; 5] = [
        Scenario::Bare,
        Scenario::Health,
        Scenario::Cycle,
        Scenario::ReadEmpty,
        Scenario::Race,
    ];

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Bare => "bare",
            Scenario::Health => "health",
            Scenario::Cycle => "cycle",
            Scenario::ReadEmpty => "read-empty",
            Scenario::Race => "race",
            Scenario::Fill => "fill",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Scenario::Bare,
            Scenario::Health,
            Scenario::Cycle,
            Scenario::ReadEmpty,
            Scenario::Race,
            Scenario::Fill,
        ]
        .into_iter()
        .find(|scenario| scenario.name() == s)
        .ok_or_else(|| {
            format!("unknown scenario {s:?} (bare, health, cycle, read-empty, race, fill)")
        })
    }
}

/// How to load the server.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The servers: requests go to them in turn (app instances behind a round-robin
    /// balancer), so a cycle's set and read meet different instances.
    pub addrs: Vec<SocketAddr>,
    /// The scenario.
    pub scenario: Scenario,
    /// Concurrent virtual users.
    pub users: usize,
    /// How long to measure.
    pub duration: Duration,
    /// How long to run before measuring (connections, caches, allocator).
    pub warmup: Duration,
    /// Rounds per user before stopping early (`fill` does 1 unless told).
    pub rounds: Option<u64>,
}

/// What a run measured; `flash-load --json` prints it, `bench-report` reads it back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// The scenario.
    pub scenario: String,
    /// A free label (the store, say).
    pub label: String,
    /// Virtual users.
    pub users: usize,
    /// Seconds measured.
    pub seconds: f64,
    /// Requests completed while measuring.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles and maximum, in microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Maximum.
    pub max_us: u64,
    /// Requests that failed (connection errors, unexpected status).
    pub errors: u64,
    /// Messages pushed but never read back.
    pub lost: u64,
    /// Messages read more than once.
    pub duplicated: u64,
    /// Messages read by a user that did not push them.
    pub foreign: u64,
    /// CPU time of the measured processes (server and Redis) per request while measuring,
    /// in microseconds (`flash-load --cpu-pids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_request: Option<f64>,
    /// Redis's share of [`Outcome::cpu_us_per_request`] (`flash-load --redis-pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_cpu_us_per_request: Option<f64>,
    /// Commands Redis processed per request while measuring (`flash-load --redis`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_commands_per_request: Option<f64>,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    lost: u64,
    duplicated: u64,
    foreign: u64,
}

/// Runs the scenario and returns what it measured. Errors are counted, never fatal: a
/// server that fails under load shows up in the figures.
pub async fn run(config: &LoadConfig) -> Outcome {
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let until = measure_from + config.duration;
    let tasks: Vec<_> = (0..config.users)
        .map(|user| {
            let config = config.clone();
            tokio::spawn(async move { user_loop(user, &config, measure_from, until).await })
        })
        .collect();
    let mut histogram = new_histogram();
    let mut total = Tally::default();
    for task in tasks {
        let Ok((h, tally)) = task.await else {
            total.errors += 1;
            continue;
        };
        let _ = histogram.add(&h);
        total.requests += tally.requests;
        total.errors += tally.errors;
        total.lost += tally.lost;
        total.duplicated += tally.duplicated;
        total.foreign += tally.foreign;
    }
    let seconds = config.duration.as_secs_f64();
    Outcome {
        scenario: config.scenario.name().to_owned(),
        label: String::new(),
        users: config.users,
        seconds,
        requests: total.requests,
        rps: total.requests as f64 / seconds,
        p50_us: histogram.value_at_quantile(0.5),
        p99_us: histogram.value_at_quantile(0.99),
        max_us: histogram.max(),
        errors: total.errors,
        lost: total.lost,
        duplicated: total.duplicated,
        foreign: total.foreign,
        cpu_us_per_request: None,
        redis_cpu_us_per_request: None,
        redis_commands_per_request: None,
    }
}

/// 1 µs to 60 s, 3 significant digits: enough for any request here.
#[allow(clippy::expect_used)] // constant, valid bounds: the constructor cannot fail
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// One virtual user. Requests before `measure_from` warm up and are not counted.
async fn user_loop(
    user: usize,
    config: &LoadConfig,
    measure_from: Instant,
    until: Instant,
) -> (Histogram<u64>, Tally) {
    let connections = if config.scenario == Scenario::Race {
        2
    } else {
        1
    };
    let mut client = User::round_robin(&config.addrs, connections);
    let mut histogram = new_histogram();
    let mut tally = Tally::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut round: u64 = 0;
    if config.scenario == Scenario::ReadEmpty {
        // A cookie first: one message pushed and read.
        let _ = client.get(&set_path(user, 0, "info")).await;
        let _ = client.get("/read").await;
    }
    loop {
        let now = Instant::now();
        let rounds = match config.scenario {
            Scenario::Fill => config.rounds.or(Some(1)),
            _ => config.rounds,
        };
        if now >= until || rounds.is_some_and(|n| round >= n) {
            break;
        }
        let measuring = now >= measure_from;
        round += 1;
        let mut timed = |started: Instant, ok: bool, tally: &mut Tally| {
            if measuring {
                tally.requests += 1;
                if !ok {
                    tally.errors += 1;
                }
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                let _ = histogram.record(micros.max(1));
            }
        };
        match config.scenario {
            Scenario::Bare | Scenario::Health => {
                let path = if config.scenario == Scenario::Bare {
                    "/bare"
                } else {
                    "/health"
                };
                let started = Instant::now();
                let ok = client.get(path).await.is_ok_and(|r| r.status == 200);
                timed(started, ok, &mut tally);
            }
            Scenario::ReadEmpty => {
                let started = Instant::now();
                let ok = client
                    .get("/read")
                    .await
                    .is_ok_and(|r| r.status == 200 && r.text() == "{}");
                timed(started, ok, &mut tally);
            }
            Scenario::Fill => {
                let started = Instant::now();
                let ok = client
                    .get(&set_path(user, round, "info"))
                    .await
                    .is_ok_and(|r| r.status == 302);
                timed(started, ok, &mut tally);
            }
            Scenario::Cycle => {
                let text = message(user, round, 0);
                let started = Instant::now();
                let set = client.get(&set_path(user, round, "info")).await;
                let ok = set
                    .as_ref()
                    .is_ok_and(|r| r.status == 302 && r.location.as_deref() == Some("/read"));
                timed(started, ok, &mut tally);
                let started = Instant::now();
                let read = client.get("/read").await;
                timed(
                    started,
                    read.as_ref().is_ok_and(|r| r.status == 200),
                    &mut tally,
                );
                if measuring {
                    let replies: Vec<Reply> = read.into_iter().collect();
                    check(user, &[text], &replies, &mut seen, &mut tally);
                }
            }
            Scenario::Race => {
                let mut sent = Vec::new();
                for i in 0..3 {
                    sent.push(message(user, round, i));
                    let started = Instant::now();
                    let path = format!("/set?kind=info&msg={}", sent[i]);
                    let ok = client.get(&path).await.is_ok_and(|r| r.status == 302);
                    timed(started, ok, &mut tally);
                }
                let started = Instant::now();
                let reads = client.get_concurrently("/read").await;
                let ok = reads
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|r| r.status == 200));
                timed(started, ok, &mut tally);
                timed(started, ok, &mut tally);
                if measuring {
                    let replies: Vec<Reply> = reads.into_iter().filter_map(Result::ok).collect();
                    check(user, &sent, &replies, &mut seen, &mut tally);
                }
            }
        }
    }
    (histogram, tally)
}

fn message(user: usize, round: u64, i: usize) -> String {
    format!("u{user}-r{round}-m{i}")
}

fn set_path(user: usize, round: u64, kind: &str) -> String {
    format!("/set?kind={kind}&msg={}", message(user, round, 0))
}

/// The texts of a `/read` reply (`{"info": ["…"]}`).
pub(crate) fn texts(reply: &Reply) -> Vec<String> {
    let Ok(body) = &reply.body else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Object(kinds)) = serde_json::from_slice(body) else {
        return Vec::new();
    };
    kinds
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Counts, over the replies of one round, what was lost, read twice, or someone else's.
fn check(
    user: usize,
    sent: &[String],
    replies: &[Reply],
    seen: &mut HashSet<String>,
    tally: &mut Tally,
) {
    let own = format!("u{user}-");
    let mut got: Vec<String> = replies.iter().flat_map(texts).collect();
    got.sort();
    for text in &got {
        if !text.starts_with(&own) {
            tally.foreign += 1;
        } else if !seen.insert(text.clone()) {
            tally.duplicated += 1;
        }
    }
    for text in sent {
        if !got.contains(text) {
            tally.lost += 1;
        }
    }
}

/// The outcome as a table row.
pub fn table_row(outcome: &Outcome) -> String {
    format!(
        "{:<10} {:<14} {:>10.0} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>5}",
        outcome.scenario,
        outcome.label,
        outcome.rps,
        outcome.p50_us,
        outcome.p99_us,
        outcome.max_us,
        outcome.errors,
        outcome.lost,
        outcome.duplicated,
        outcome.foreign
    )
}

/// The header of [`table_row`].
pub fn table_header() -> String {
    format!(
        "{:<10} {:<14} {:>10} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>5}",
        "scenario",
        "label",
        "req/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "errors",
        "lost",
        "dup",
        "foreign"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &str) -> Reply {
        Reply {
            status: http::StatusCode::OK,
            location: None,
            set_cookie: None,
            hx_trigger: None,
            body: Ok(bytes::Bytes::from(body.to_owned())),
        }
    }

    #[test]
    fn counters_catch_losses_duplicates_and_foreign_messages() {
        let mut seen = HashSet::new();
        let mut tally = Tally::default();
        let sent = vec!["u1-r1-m0".to_owned(), "u1-r1-m1".to_owned()];
        let replies = [
            reply(r#"{"info":["u1-r1-m0","u2-r1-m0"]}"#),
            reply(r#"{"info":["u1-r1-m0"]}"#),
        ];
        check(1, &sent, &replies, &mut seen, &mut tally);
        assert_eq!((tally.lost, tally.duplicated, tally.foreign), (1, 1, 1));
    }

    #[test]
    fn scenarios_parse_by_name() {
        for s in Scenario::MEASURED {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert!("nope".parse::<Scenario>().is_err());
    }
}
