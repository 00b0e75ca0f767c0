//! The soak: a long mixed load on the memory store and on a real Redis at once, with the
//! process's resident memory, the memory store's bytes and clients, and Redis's memory,
//! key count and keys without a TTL sampled all along (binary `flash-soak`, script
//! `bench/soak.sh`, CI test `bench/tests/soak.rs`).
//!
//! Per store, two in-process apps of `bench/CONTRACT.md` ([`crate::server::app`]) share one
//! store: one in the default delivery mode, one with delivery confirmation, both with htmx
//! delivery and a short TTL. Against each, paced virtual users run:
//!
//! - **cycle**: `/set` → 302 → `/read`, exactly its own message, once;
//! - **race**: three pushes, then two concurrent reads with the same cookie: every message
//!   exactly once between them;
//! - **htmx**: `/set`, then `/health` with `HX-Request: true`: the message arrives in
//!   `HX-Trigger`;
//! - **confirmed**: `/set`, then `/read?fail=500|panic|abort` on the confirming app (the
//!   messages must come back), then `/read` gets them, once;
//! - **visitors**: requests without a cookie: a `/set` by a new client that never comes back
//!   (its message must expire by TTL), and a `/read` that must set no cookie.
//!
//! A sample every few seconds goes to a JSON-lines file; at the end, an SVG plot and a
//! verdict: growth after warm-up below the bound, no Redis key without a TTL, every
//! correctness counter 0, and every Redis key gone one TTL after the load stopped.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plotters::prelude::*;
use serde::Serialize;
use tower_flash::{FlashLayer, HtmxDelivery, Key, MemoryStore, RedisOptions, RedisStore};

use crate::client::{Conn, Reply, User};

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// How long the load runs.
    pub duration: Duration,
    /// Time between samples.
    pub sample_every: Duration,
    /// The messages' TTL: short, so that expiry happens many times over.
    pub ttl: Duration,
    /// Virtual users of each kind (cycle, race, htmx, confirmed), per store.
    pub users: usize,
    /// Each user's pause between rounds: the load is paced, so that the steady state does
    /// not depend on how fast the (shared) machine happens to be.
    pub pause: Duration,
    /// Cookieless visitors per second, per store.
    pub visitors_per_second: u32,
    /// The share of the run that is warm-up (0.2): growth compares the median of the
    /// samples in the next 20 % of the run with the median of the last 20 %.
    pub warmup_fraction: f64,
    /// The largest growth after warm-up accepted for memory: the process's RSS and Redis's
    /// `used_memory` (0.05: 5 %).
    pub max_growth: f64,
    /// The largest growth after warm-up accepted for counts: Redis keys per visitor served
    /// in the last TTL ([`keys_per_recent_visitor`]) and the memory store's clients and
    /// bytes (0.05 in the long run). A count of short-lived keys is
    /// noisy over a few seconds (Redis reclaims expired keys by sampling); a short run may
    /// allow more, its drain check (every key gone one TTL after the load) being the
    /// strict test for leaked keys.
    pub max_count_growth: f64,
    /// Whether the memory store's bytes and clients are held to `max_growth` too (RSS,
    /// Redis's `used_memory` and key count always are). The memory store sweeps a shard
    /// once it has seen at least 64 operations, so under a trickle of new clients its
    /// count is a sawtooth whose period can be many seconds: a run must be much longer
    /// than that for medians to compare. The long run gates them; the CI run reports them.
    pub gate_memory_store: bool,
    /// The Redis store's per-request budget ([`RedisOptions::timeout`], 500 ms by default in
    /// the library; 5 s here). The soak looks for leaks and wrong deliveries, not for
    /// deadline behaviour (`tower-flash/tests/redis_faults.rs` drives that): on a starved
    /// shared machine the whole process stalls for longer than 500 ms now and then, and each
    /// stall becomes takes that miss their budget (their messages then come back later, by
    /// design), which the counters would report as lost and late.
    pub redis_timeout: Duration,
    /// The `redis-server` to start.
    pub redis_server: PathBuf,
    /// Where to write the samples (JSON lines), if anywhere.
    pub jsonl: Option<PathBuf>,
    /// Where to draw the plot (SVG), if anywhere.
    pub svg: Option<PathBuf>,
    /// Print a progress line this often (none: quiet).
    pub progress_every: Option<Duration>,
}

impl Default for SoakConfig {
    fn default() -> Self {
        SoakConfig {
            duration: Duration::from_secs(30 * 60),
            sample_every: Duration::from_secs(5),
            ttl: Duration::from_secs(5),
            users: 4,
            pause: Duration::from_millis(20),
            visitors_per_second: 200,
            warmup_fraction: 0.2,
            max_growth: 0.05,
            max_count_growth: 0.05,
            gate_memory_store: true,
            redis_timeout: Duration::from_secs(5),
            redis_server: PathBuf::from("redis-server"),
            jsonl: None,
            svg: None,
            progress_every: Some(Duration::from_secs(60)),
        }
    }
}

/// Why the soak could not run at all (a failed check is a [`Verdict`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// `redis-server` could not be started or did not answer.
    #[error("redis-server: {0}")]
    Redis(String),
    /// The store, a listener or a file.
    #[error("{0}")]
    Setup(String),
}

/// The correctness counters of one store's load; every one must stay 0.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    rounds: AtomicU64,
    visitors: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    foreign: AtomicU64,
}

/// A snapshot of the driver's `Counters`.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Requests completed.
    pub requests: u64,
    /// Rounds of cycle, race, htmx and confirmed users completed.
    pub rounds: u64,
    /// Cookieless visitors served.
    pub visitors: u64,
    /// Requests that failed or answered something the contract does not allow.
    pub errors: u64,
    /// Messages pushed and never read back in their round.
    pub lost: u64,
    /// Messages read twice, or read in a later round than their own.
    pub duplicated: u64,
    /// Messages read by a user that did not push them.
    pub foreign: u64,
}

impl Tally {
    /// The counters that must be 0.
    pub fn failures(&self) -> u64 {
        self.errors + self.lost + self.duplicated + self.foreign
    }
}

impl Counters {
    fn tally(&self) -> Tally {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Tally {
            requests: get(&self.requests),
            rounds: get(&self.rounds),
            visitors: get(&self.visitors),
            errors: get(&self.errors),
            lost: get(&self.lost),
            duplicated: get(&self.duplicated),
            foreign: get(&self.foreign),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// One sample.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// Always `"sample"`.
    pub kind: &'static str,
    /// Seconds since the load started.
    pub t: f64,
    /// The process's resident memory (`VmRSS`), KiB: both servers, both stores' clients and
    /// the load generator.
    pub rss_kib: u64,
    /// The memory store's accounted bytes.
    pub memory_store_bytes: u64,
    /// The memory store's clients (expired ones not yet swept included).
    pub memory_store_clients: u64,
    /// Redis `used_memory`, bytes.
    pub redis_used_memory: u64,
    /// Redis `DBSIZE`.
    pub redis_keys: u64,
    /// Keys whose `TTL` is -1, by a full `SCAN`.
    pub redis_keys_without_ttl: u64,
    /// The memory store's counters so far.
    pub memory: Tally,
    /// The Redis store's counters so far.
    pub redis: Tally,
}

/// Growth of one sampled figure after warm-up.
#[derive(Clone, Debug, Serialize)]
pub struct Growth {
    /// The figure.
    pub name: &'static str,
    /// Median of the samples right after warm-up (the 20 % of the run that follows it).
    pub after_warmup: f64,
    /// Median of the last 20 % of the samples.
    pub at_end: f64,
    /// `at_end / after_warmup - 1`.
    pub growth: f64,
    /// The bound it is held to, if any.
    pub bound: Option<f64>,
}

/// What the soak found.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Always `"summary"`.
    pub kind: &'static str,
    /// Seconds of load.
    pub seconds: f64,
    /// The messages' TTL, seconds.
    pub ttl_s: f64,
    /// The Redis store's per-request budget, seconds.
    pub redis_timeout_s: f64,
    /// Samples taken.
    pub samples: usize,
    /// The memory store's counters.
    pub memory: Tally,
    /// The Redis store's counters.
    pub redis: Tally,
    /// The most keys without a TTL seen in any sample, or in the final scan.
    pub keys_without_ttl: u64,
    /// Redis keys left one TTL (plus 5 s) after the load stopped: every message expired.
    pub redis_keys_after_drain: u64,
    /// Growth of each figure after warm-up.
    pub growth: Vec<Growth>,
    /// The share of the run counted as warm-up.
    pub warmup_fraction: f64,
    /// Why the soak failed; empty when it passed.
    pub failures: Vec<String>,
}

impl Verdict {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A throwaway `redis-server` on a unix socket in a temporary directory, killed, waited for
/// and removed when dropped.
struct RedisProcess {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
}

impl RedisProcess {
    fn start(binary: &Path) -> Result<Self, SoakError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("tower-flash-soak-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| SoakError::Redis(format!("cannot create {}: {e}", dir.display())))?;
        let socket = dir.join("redis.sock");
        // `--port 0`: no TCP listener at all, only the socket (mode 700).
        let child = Command::new(binary)
            .arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                SoakError::Redis(format!(
                    "cannot start {} ({e}): install redis-server (scripts/lib.sh ensure_redis)",
                    binary.display()
                ))
            })?;
        let mut redis = RedisProcess { child, dir, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = redis.child.try_wait() {
                return Err(SoakError::Redis(format!("exited at start: {status}")));
            }
            if redis.connection().is_ok() {
                return Ok(redis);
            }
            if Instant::now() > deadline {
                return Err(SoakError::Redis("did not answer within 10 s".to_owned()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    fn connection(&self) -> Result<redis::Connection, redis::RedisError> {
        let mut connection = redis::Client::open(self.url())?.get_connection()?;
        redis::cmd("PING").query::<String>(&mut connection)?;
        Ok(connection)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Redis's figures: `used_memory`, `DBSIZE`, keys without a TTL.
fn redis_figures(connection: &mut redis::Connection) -> Result<(u64, u64, u64), redis::RedisError> {
    let info: String = redis::cmd("INFO").arg("memory").query(connection)?;
    let used_memory = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let keys: u64 = redis::cmd("DBSIZE").query(connection)?;
    Ok((used_memory, keys, keys_without_ttl(connection)?))
}

/// A full `SCAN`, then `TTL` of every key found: those answering -1 have none (-2: expired
/// in between).
fn keys_without_ttl(connection: &mut redis::Connection) -> Result<u64, redis::RedisError> {
    let mut cursor: u64 = 0;
    let mut without = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(connection)?;
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("TTL").arg(key);
            }
            let ttls: Vec<i64> = pipe.query(connection)?;
            without += ttls.iter().filter(|&&t| t == -1).count() as u64;
        }
        if next == 0 {
            return Ok(without);
        }
        cursor = next;
    }
}

/// The process's resident memory, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// The two apps of one store: default delivery and confirmed delivery.
struct Apps {
    default: SocketAddr,
    confirmed: SocketAddr,
}

async fn serve(
    layer: FlashLayer,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), SoakError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| SoakError::Setup(format!("cannot listen on loopback: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| SoakError::Setup(format!("no local address: {e}")))?;
    let app = crate::server::app(layer);
    let handle = tokio::spawn(async move {
        let mut stop = stop;
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    });
    Ok((addr, handle))
}

async fn start_apps<S: tower_flash::store::Store + Clone>(
    store: S,
    ttl: Duration,
    stop: &tokio::sync::watch::Receiver<bool>,
    servers: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Apps, SoakError> {
    let key = Key::generate();
    let layer = |store: S| {
        FlashLayer::new(store, key.clone())
            .secure(false)
            .ttl(ttl)
            .deliver_to_htmx(HtmxDelivery::default())
    };
    let (default, a) = serve(layer(store.clone()), stop.clone()).await?;
    let (confirmed, b) = serve(layer(store).confirm_delivery(), stop.clone()).await?;
    servers.extend([a, b]);
    Ok(Apps { default, confirmed })
}

/// The view's deliberate panics (`fail=panic`) are expected by the thousand: keep them out
/// of stderr, and every other panic in it.
fn quiet_view_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !payload.contains("(fail=panic)") {
                default(info);
            }
        }));
    });
}

/// What a user does each round.
#[derive(Clone, Copy, Debug)]
enum Role {
    Cycle,
    Race,
    Htmx,
    Confirmed,
}

impl Role {
    fn letter(self) -> char {
        match self {
            Role::Cycle => 'c',
            Role::Race => 'r',
            Role::Htmx => 'h',
            Role::Confirmed => 'k',
        }
    }
}

/// The texts of an `HX-Trigger` header (`{"flash": [{"text": "…", …}]}`).
fn htmx_texts(reply: &Reply) -> Vec<String> {
    let Some(header) = &reply.hx_trigger else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(header) else {
        return Vec::new();
    };
    value
        .get("flash")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect()
}

/// Counts, over one round, what was lost, read twice (or late), or someone else's. Only
/// this round's texts are remembered: the driver's own memory stays flat too.
fn check(own: &str, sent: &[String], got: &[String], counters: &Counters) {
    let mut seen: Vec<&String> = Vec::new();
    for text in got {
        if !text.starts_with(own) {
            Counters::add(&counters.foreign, 1);
        } else if !sent.contains(text) || seen.contains(&text) {
            Counters::add(&counters.duplicated, 1);
        } else {
            seen.push(text);
        }
    }
    let lost = sent.iter().filter(|t| !seen.contains(t)).count() as u64;
    Counters::add(&counters.lost, lost);
}

async fn user_loop(
    role: Role,
    n: usize,
    apps: Arc<Apps>,
    pause: Duration,
    counters: Arc<Counters>,
    running: Arc<AtomicBool>,
) {
    let addr = match role {
        Role::Confirmed => apps.confirmed,
        _ => apps.default,
    };
    let mut user = User::new(addr, if matches!(role, Role::Race) { 2 } else { 1 });
    let own = format!("{}{n}-", role.letter());
    let mut round: u64 = 0;
    let ok = |result: &Result<Reply, _>, status: u16| {
        let fine = result.as_ref().is_ok_and(|r: &Reply| r.status == status);
        Counters::add(&counters.requests, 1);
        if !fine {
            Counters::add(&counters.errors, 1);
        }
        fine
    };
    while running.load(Ordering::Relaxed) {
        round += 1;
        let count = if matches!(role, Role::Race) { 3 } else { 1 };
        let sent: Vec<String> = (0..count).map(|i| format!("{own}r{round}-m{i}")).collect();
        for text in &sent {
            ok(&user.get(&format!("/set?kind=info&msg={text}")).await, 302);
        }
        let got: Vec<String> = match role {
            Role::Cycle => {
                let reply = user.get("/read").await;
                ok(&reply, 200);
                reply.as_ref().map(crate::load::texts).unwrap_or_default()
            }
            Role::Race => {
                let replies = user.get_concurrently("/read").await;
                let mut got = Vec::new();
                for reply in &replies {
                    ok(reply, 200);
                    got.extend(reply.as_ref().map(crate::load::texts).unwrap_or_default());
                }
                got
            }
            Role::Htmx => {
                let reply = user.get_with("/health", &[("hx-request", "true")]).await;
                ok(&reply, 200);
                reply.as_ref().map(htmx_texts).unwrap_or_default()
            }
            Role::Confirmed => {
                let fail = ["500", "panic", "abort"][(round % 3) as usize];
                let reply = user.get(&format!("/read?fail={fail}")).await;
                Counters::add(&counters.requests, 1);
                let failed_as_asked = reply.as_ref().is_ok_and(|r| match fail {
                    "abort" => r.status == 200 && r.body.is_err(),
                    _ => r.status == 500,
                });
                if !failed_as_asked {
                    Counters::add(&counters.errors, 1);
                }
                // After a broken body the give-back runs in the background: until it has,
                // a read finds nothing (the messages are leased), never a partial list.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let reply = user.get("/read").await;
                    ok(&reply, 200);
                    let got = reply.as_ref().map(crate::load::texts).unwrap_or_default();
                    if !got.is_empty() || Instant::now() > deadline {
                        break got;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        check(&own, &sent, &got, &counters);
        Counters::add(&counters.rounds, 1);
        tokio::time::sleep(pause).await;
    }
}

/// Cookieless visitors on one connection, `per_second` of them: three in four push once
/// (a new client each time, which never comes back), one in four reads and must get `{}`
/// and no cookie.
async fn visitor_loop(
    n: usize,
    apps: Arc<Apps>,
    per_second: f64,
    counters: Arc<Counters>,
    running: Arc<AtomicBool>,
) {
    let mut default = Conn::new(apps.default);
    let mut confirmed = Conn::new(apps.confirmed);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(0.01)));
    // Burst: after a stall (the machine is shared) the visitors missed come at once, so that
    // the rate, and with it the steady key count, does not depend on the machine's load.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut i: u64 = 0;
    while running.load(Ordering::Relaxed) {
        tick.tick().await;
        i += 1;
        let conn = if i.is_multiple_of(2) {
            &mut default
        } else {
            &mut confirmed
        };
        let fine = if i % 4 == 3 {
            let reply = conn.get("/read", None).await;
            reply
                .as_ref()
                .is_ok_and(|r| r.status == 200 && r.text() == "{}" && r.set_cookie.is_none())
        } else {
            let reply = conn
                .get(&format!("/set?kind=info&msg=v{n}-{i}"), None)
                .await;
            reply
                .as_ref()
                .is_ok_and(|r| r.status == 302 && r.set_cookie.is_some())
        };
        Counters::add(&counters.requests, 1);
        Counters::add(&counters.visitors, 1);
        if !fine {
            Counters::add(&counters.errors, 1);
        }
    }
}

fn spawn_load(
    config: &SoakConfig,
    apps: &Arc<Apps>,
    counters: &Arc<Counters>,
    running: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for role in [Role::Cycle, Role::Race, Role::Htmx, Role::Confirmed] {
        for n in 0..config.users {
            tasks.push(tokio::spawn(user_loop(
                role,
                n,
                apps.clone(),
                config.pause,
                counters.clone(),
                running.clone(),
            )));
        }
    }
    const VISITOR_CONNECTIONS: usize = 4;
    if config.visitors_per_second > 0 {
        let each = f64::from(config.visitors_per_second) / VISITOR_CONNECTIONS as f64;
        for n in 0..VISITOR_CONNECTIONS {
            tasks.push(tokio::spawn(visitor_loop(
                n,
                apps.clone(),
                each,
                counters.clone(),
                running.clone(),
            )));
        }
    }
    tasks
}

/// The median of `values` (0 when empty).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Growth after warm-up: the median of the last 20 % of the samples against the median of
/// the 20 % right after the warm-up (its first `warmup` share; 0.2 in the long run).
pub fn growth(name: &'static str, values: &[f64], warmup: f64, bound: Option<f64>) -> Growth {
    let n = values.len();
    let fifth = (n / 5).max(1);
    let start = ((n as f64 * warmup.clamp(0.0, 0.6)) as usize).min(n);
    let early = values
        .get(start..(start + fifth).min(n))
        .unwrap_or_default();
    let late = values.get(n.saturating_sub(fifth)..).unwrap_or_default();
    let (after_warmup, at_end) = (median(early.to_vec()), median(late.to_vec()));
    let growth = if after_warmup > 0.0 {
        at_end / after_warmup - 1.0
    } else if at_end > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Growth {
        name,
        after_warmup,
        at_end,
        growth,
        bound,
    }
}

/// Redis keys per cookieless visitor served on Redis in the TTL before each sample. Without
/// a leak, the live keys are the clients seen within one TTL: a few long-lived users and the
/// visitors of the last TTL, who are nearly all of them. Visitors are paced, but a starved
/// load generator falls behind its pace and catches up, and the raw count follows; per
/// visitor served, the count stays flat unless keys outlive their TTL. (Per request it does
/// not: the users' requests, unpaced, dominate the request count but hold few keys.)
pub fn keys_per_recent_visitor(samples: &[Sample], ttl: Duration) -> Vec<f64> {
    let ttl = ttl.as_secs_f64();
    samples
        .iter()
        .enumerate()
        .map(|(i, sample)| {
            let before = samples[..i]
                .iter()
                .rev()
                .find(|s| s.t <= sample.t - ttl)
                .map_or(0, |s| s.redis.visitors);
            let recent = sample.redis.visitors.saturating_sub(before);
            if recent == 0 {
                0.0
            } else {
                sample.redis_keys as f64 / recent as f64
            }
        })
        .collect()
}

/// Runs the soak. `Err` only when it could not run; a failed check is in the [`Verdict`].
pub async fn run(config: &SoakConfig) -> Result<Verdict, SoakError> {
    quiet_view_panics();
    let redis_process = RedisProcess::start(&config.redis_server)?;
    let memory_store = MemoryStore::new();
    let options = RedisOptions::default().timeout(config.redis_timeout);
    let redis_store = RedisStore::connect_with(&redis_process.url(), options)
        .await
        .map_err(|e| SoakError::Setup(format!("RedisStore::connect: {e}")))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    let memory_apps =
        Arc::new(start_apps(memory_store.clone(), config.ttl, &stop_rx, &mut servers).await?);
    let redis_apps =
        Arc::new(start_apps(redis_store.clone(), config.ttl, &stop_rx, &mut servers).await?);

    let mut jsonl = match &config.jsonl {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| SoakError::Setup(format!("cannot create {}: {e}", path.display())))?,
        )),
        None => None,
    };

    let memory_counters = Arc::new(Counters::default());
    let redis_counters = Arc::new(Counters::default());
    let running = Arc::new(AtomicBool::new(true));
    let mut load = spawn_load(config, &memory_apps, &memory_counters, &running);
    load.extend(spawn_load(config, &redis_apps, &redis_counters, &running));

    // Samples: Redis over a blocking connection of its own, in a blocking task.
    let sampler =
        Arc::new(std::sync::Mutex::new(redis_process.connection().map_err(
            |e| SoakError::Redis(format!("cannot connect to sample: {e}")),
        )?));
    let redis_sample = {
        let sampler = sampler.clone();
        move || {
            let sampler = sampler.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut connection = sampler.lock().map_err(|_| "poisoned".to_owned())?;
                    redis_figures(&mut connection).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
            }
        }
    };

    let started = Instant::now();
    let until = started + config.duration;
    let mut samples: Vec<Sample> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut last_progress = started;
    let mut next_sample = started + config.sample_every;
    while Instant::now() < until {
        tokio::time::sleep_until(next_sample.min(until).into()).await;
        if Instant::now() < next_sample {
            break;
        }
        next_sample += config.sample_every;
        let (used_memory, keys, without_ttl) = match redis_sample().await {
            Ok(figures) => figures,
            Err(error) => {
                failures.push(format!("sampling Redis failed: {error}"));
                break;
            }
        };
        let sample = Sample {
            kind: "sample",
            t: started.elapsed().as_secs_f64(),
            rss_kib: rss_kib(),
            memory_store_bytes: memory_store.bytes() as u64,
            memory_store_clients: memory_store.clients() as u64,
            redis_used_memory: used_memory,
            redis_keys: keys,
            redis_keys_without_ttl: without_ttl,
            memory: memory_counters.tally(),
            redis: redis_counters.tally(),
        };
        if let Some(out) = jsonl.as_mut() {
            let line = serde_json::to_string(&sample).unwrap_or_default();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
        if let Some(every) = config.progress_every
            && last_progress.elapsed() >= every
        {
            last_progress = Instant::now();
            eprintln!(
                "flash-soak: {:>5.0} s  rss {} KiB  memory store {} B / {} clients  redis {} B / {} keys ({} without TTL)  requests {} + {}  failures {} + {}",
                sample.t,
                sample.rss_kib,
                sample.memory_store_bytes,
                sample.memory_store_clients,
                sample.redis_used_memory,
                sample.redis_keys,
                sample.redis_keys_without_ttl,
                sample.memory.requests,
                sample.redis.requests,
                sample.memory.failures(),
                sample.redis.failures(),
            );
        }
        samples.push(sample);
    }
    let seconds = started.elapsed().as_secs_f64();

    running.store(false, Ordering::Relaxed);
    for task in load {
        if task.await.is_err() {
            failures.push("a load task panicked".to_owned());
        }
    }

    // Every message was written by now: one TTL later (Redis's active expiry given 5 s more)
    // every key must be gone, and none may ever have lacked a TTL.
    let final_without_ttl = redis_sample()
        .await
        .map(|(_, _, without)| without)
        .unwrap_or_else(|e| {
            failures.push(format!("final scan failed: {e}"));
            0
        });
    let drain_deadline = Instant::now() + config.ttl + Duration::from_secs(5);
    let keys_after_drain = loop {
        let keys = match redis_sample().await {
            Ok((_, keys, _)) => keys,
            Err(error) => {
                failures.push(format!("sampling Redis failed: {error}"));
                0
            }
        };
        if keys == 0 || Instant::now() > drain_deadline {
            break keys;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let _ = stop_tx.send(true);
    for server in servers {
        let _ = server.await;
    }
    drop(redis_store);
    drop(redis_process);

    let memory = memory_counters.tally();
    let redis = redis_counters.tally();
    let keys_without_ttl = samples
        .iter()
        .map(|s| s.redis_keys_without_ttl)
        .chain([final_without_ttl])
        .max()
        .unwrap_or(0);
    type Figure = fn(&Sample) -> f64;
    let figures: [(&'static str, Figure); 5] = [
        ("rss", |s| s.rss_kib as f64),
        ("redis_used_memory", |s| s.redis_used_memory as f64),
        ("redis_keys", |s| s.redis_keys as f64),
        ("memory_store_bytes", |s| s.memory_store_bytes as f64),
        ("memory_store_clients", |s| s.memory_store_clients as f64),
    ];
    let keys_per_load = growth(
        "redis_keys_per_recent_visitor",
        &keys_per_recent_visitor(&samples, config.ttl),
        config.warmup_fraction,
        Some(config.max_count_growth),
    );
    let mut growth: Vec<Growth> = figures
        .iter()
        .map(|(name, value)| {
            let bound = match *name {
                "rss" | "redis_used_memory" => Some(config.max_growth),
                // Reported; gated per unit of load below.
                "redis_keys" => None,
                _ => config.gate_memory_store.then_some(config.max_count_growth),
            };
            let values: Vec<f64> = samples.iter().map(value).collect();
            growth(name, &values, config.warmup_fraction, bound)
        })
        .collect();
    growth.push(keys_per_load);

    if samples.len() < 10 {
        failures.push(format!(
            "only {} samples: too few to judge growth",
            samples.len()
        ));
    }
    for (name, tally) in [("memory", memory), ("redis", redis)] {
        if tally.failures() > 0 {
            failures.push(format!(
                "{name}: errors {}, lost {}, duplicated {}, foreign {}",
                tally.errors, tally.lost, tally.duplicated, tally.foreign
            ));
        }
        if tally.rounds == 0 || tally.visitors == 0 {
            failures.push(format!("{name}: no load ran ({tally:?})"));
        }
    }
    if keys_without_ttl > 0 {
        failures.push(format!("{keys_without_ttl} Redis keys without a TTL"));
    }
    if keys_after_drain > 0 {
        failures.push(format!(
            "{keys_after_drain} Redis keys left {:.0} s after the load stopped",
            (config.ttl + Duration::from_secs(5)).as_secs_f64()
        ));
    }
    for g in &growth {
        if let Some(bound) = g.bound
            && g.growth >= bound
        {
            failures.push(format!(
                "{} grew {:.1} % after warm-up ({:.0} → {:.0}), bound {:.1} %",
                g.name,
                g.growth * 100.0,
                g.after_warmup,
                g.at_end,
                bound * 100.0
            ));
        }
    }

    let verdict = Verdict {
        kind: "summary",
        seconds,
        ttl_s: config.ttl.as_secs_f64(),
        redis_timeout_s: config.redis_timeout.as_secs_f64(),
        samples: samples.len(),
        memory,
        redis,
        keys_without_ttl,
        redis_keys_after_drain: keys_after_drain,
        growth,
        warmup_fraction: config.warmup_fraction,
        failures,
    };
    if let Some(mut out) = jsonl {
        let line = serde_json::to_string(&verdict).unwrap_or_default();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
    if let Some(path) = &config.svg {
        draw(&samples, &verdict, path)
            .map_err(|e| SoakError::Setup(format!("cannot draw {}: {e}", path.display())))?;
    }
    Ok(verdict)
}

/// Six panels over time: RSS, throughput, the memory store's bytes and clients, Redis's
/// memory and keys; the warm-up and the two compared windows marked.
fn draw(
    samples: &[Sample],
    verdict: &Verdict,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "tower-flash soak: {:.0} min, TTL {:.0} s, counters {} / {}, keys without TTL {}",
        verdict.seconds / 60.0,
        verdict.ttl_s,
        verdict.memory.failures(),
        verdict.redis.failures(),
        verdict.keys_without_ttl
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let panels = root.split_evenly((3, 2));
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let growth_of = |name: &str| {
        verdict
            .growth
            .iter()
            .find(|g| g.name == name)
            .map_or(String::new(), |g| {
                format!(" (growth {:+.1} %)", g.growth * 100.0)
            })
    };
    // Requests per second of each store between consecutive samples.
    let rate = |f: fn(&Sample) -> u64| -> Vec<(f64, f64)> {
        samples
            .windows(2)
            .map(|w| {
                let dt = (w[1].t - w[0].t).max(1e-9);
                (w[1].t, (f(&w[1]).saturating_sub(f(&w[0]))) as f64 / dt)
            })
            .collect()
    };
    type Series = Vec<(String, RGBColor, Vec<(f64, f64)>)>;
    let blue = RGBColor(52, 101, 164);
    let red = RGBColor(204, 0, 0);
    let series = |f: fn(&Sample) -> f64| samples.iter().map(|s| (s.t, f(s))).collect::<Vec<_>>();
    let charts: [(String, Series); 6] = [
        (
            format!("process RSS, MiB{}", growth_of("rss")),
            vec![("RSS".into(), blue, series(|s| s.rss_kib as f64 / 1024.0))],
        ),
        (
            "requests/s".to_owned(),
            vec![
                ("memory".into(), blue, rate(|s| s.memory.requests)),
                ("redis".into(), red, rate(|s| s.redis.requests)),
            ],
        ),
        (
            format!(
                "memory store, KiB accounted{}",
                growth_of("memory_store_bytes")
            ),
            vec![(
                "bytes".into(),
                blue,
                series(|s| s.memory_store_bytes as f64 / 1024.0),
            )],
        ),
        (
            format!(
                "memory store, clients held{}",
                growth_of("memory_store_clients")
            ),
            vec![(
                "clients".into(),
                blue,
                series(|s| s.memory_store_clients as f64),
            )],
        ),
        (
            format!("Redis used_memory, MiB{}", growth_of("redis_used_memory")),
            vec![(
                "used_memory".into(),
                red,
                series(|s| s.redis_used_memory as f64 / (1024.0 * 1024.0)),
            )],
        ),
        (
            format!("Redis keys{}", growth_of("redis_keys")),
            vec![
                ("keys".into(), red, series(|s| s.redis_keys as f64)),
                (
                    "without TTL".into(),
                    BLACK,
                    series(|s| s.redis_keys_without_ttl as f64),
                ),
            ],
        ),
    ];
    let fifth = t_max / 5.0;
    let warm = t_max * verdict.warmup_fraction;
    for (area, (caption, lines)) in panels.iter().zip(charts) {
        let y_max = lines
            .iter()
            .flat_map(|(_, _, points)| points.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            * 1.15
            + 1e-9;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("seconds")
            .y_label_formatter(&|v| format!("{v:.1}"))
            .draw()?;
        // The warm-up (grey), then the two windows compared (light green).
        for (x0, x1, color) in [
            (0.0, warm, RGBColor(225, 225, 225)),
            (warm, warm + fifth, RGBColor(215, 240, 215)),
            (4.0 * fifth, t_max, RGBColor(215, 240, 215)),
        ] {
            chart.draw_series([Rectangle::new(
                [(x0, 0.0), (x1, y_max)],
                color.mix(0.6).filled(),
            )])?;
        }
        let several = lines.len() > 1;
        for (label, color, points) in lines {
            let drawn = chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
            if several {
                drawn
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
            }
        }
        if several {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_per_recent_visitor_follows_the_load_and_catches_a_leak() {
        let sample = |t: f64, visitors: u64, requests: u64, keys: u64| Sample {
            t,
            redis_keys: keys,
            redis: Tally {
                visitors,
                requests,
                ..Tally::default()
            },
            ..Sample::default()
        };
        let ttl = Duration::from_secs(2);
        // 100 visitors/s for 5 s, then 200/s (a starved generator catching up), while the
        // users' requests fall from 1,000/s to 500/s; live keys = visitors of the last TTL.
        let steady: Vec<Sample> = (0..10u64)
            .map(|i| {
                let (visitors, rate) = if i < 5 {
                    (100 * i, 100)
                } else {
                    (500 + 200 * (i - 5), 200)
                };
                let requests = if i < 5 {
                    1_000 * i
                } else {
                    5_000 + 500 * (i - 5)
                };
                sample(i as f64, visitors, requests, rate * 2)
            })
            .collect();
        let per = keys_per_recent_visitor(&steady, ttl);
        assert!((per[9] / per[3] - 1.0).abs() < 0.01, "{per:?}");
        // The same visitors, keys piling up: the figure grows.
        let leaking: Vec<Sample> = (0..10u64)
            .map(|i| sample(i as f64, 100 * i, 1_000 * i, 200 + 50 * i))
            .collect();
        let per = keys_per_recent_visitor(&leaking, ttl);
        assert!(per[9] > per[3] * 1.5, "{per:?}");
    }

    #[test]
    fn growth_compares_the_end_with_the_window_after_warmup() {
        let flat: Vec<f64> = (0..100)
            .map(|i| if i < 20 { 10.0 } else { 100.0 })
            .collect();
        assert_eq!(
            growth("x", &flat, 0.2, None).growth,
            0.0,
            "the warm-up is ignored"
        );
        let rising: Vec<f64> = (0..100).map(f64::from).collect();
        let g = growth("x", &rising, 0.2, None);
        assert_eq!((g.after_warmup, g.at_end), (29.5, 89.5));
        assert!(growth("x", &[0.0; 10], 0.2, None).growth == 0.0);
        assert!(
            growth("x", &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0], 0.2, None)
                .growth
                .is_infinite()
        );
    }

    #[test]
    fn round_check_counts_losses_duplicates_late_and_foreign_messages() {
        let counters = Counters::default();
        let sent = vec!["c1-r2-m0".to_owned(), "c1-r2-m1".to_owned()];
        let got = [
            "c1-r2-m0".to_owned(),
            "c1-r2-m0".to_owned(),
            "c1-r1-m0".to_owned(),
            "c12-r2-m0".to_owned(),
        ];
        check("c1-", &sent, &got, &counters);
        let t = counters.tally();
        assert_eq!((t.lost, t.duplicated, t.foreign), (1, 2, 1));
    }
}
