//! `floor-fred`: the floor of bench/floor (bench/CONTRACT.md's routes in bare axum over the
//! fewest Redis calls) on fred instead of redis-rs, with the guarantees tower-flash needs
//! from a client: a deadline on every command (5 s, as tower-flash's backstop) and
//! reconnection.
//!
//! ```text
//! floor-fred --addr 127.0.0.1:8080   REDIS_URL=redis://…|redis+unix://…
//! floor-fred --cycles N              REDIS_URL=…
//! ```
//!
//! `--cycles N` serves nothing: it runs N of the floor's cycles (a push, then a pop) one
//! after another on a single-threaded runtime and exits, for counting the client's
//! instructions per cycle under callgrind as `bench/examples/hot_path.rs floor` does for
//! redis-rs: (total at N = 6,000 − total at N = 1,000) / 5,000.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use flash_floor::Backend;
use fred::prelude::{
    Builder, Client, ClientLike, Config, Error, KeysInterface, ListInterface, ReconnectPolicy,
};

/// A fred client as the floor's [`Backend`]: one connection, every command pipelined on it.
#[derive(Clone)]
struct Fred(Client);

impl Backend for Fred {
    type Error = Error;

    async fn push_back(&self, key: String, item: String, ttl_ms: u64) -> Result<(), Error> {
        let pipeline = self.0.pipeline();
        let () = pipeline.rpush(&key, item).await?;
        let () = pipeline.pexpire(&key, ttl(ttl_ms), None).await?;
        pipeline.all().await
    }

    async fn push_front(&self, key: String, items: Vec<String>, ttl_ms: u64) -> Result<(), Error> {
        let pipeline = self.0.pipeline();
        let () = pipeline.lpush(&key, items).await?;
        let () = pipeline.pexpire(&key, ttl(ttl_ms), None).await?;
        pipeline.all().await
    }

    async fn pop(&self, key: String, count: usize) -> Result<Vec<String>, Error> {
        let items: Option<Vec<String>> = self.0.lpop(key, Some(count)).await?;
        Ok(items.unwrap_or_default())
    }
}

fn ttl(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

async fn connect(url: &str) -> Result<Fred, Error> {
    let config = Config::from_url(url)?;
    let client = Builder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_millis(250))
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
        // Reconnect for ever, 10 ms to 1 s apart, as redis-rs's manager does.
        .set_policy(ReconnectPolicy::new_exponential(0, 10, 1_000, 2))
        .build()?;
    client.init().await?;
    Ok(Fred(client))
}

enum Mode {
    Serve(SocketAddr),
    Cycles(usize),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.as_slice() {
        [flag, addr] if flag == "--addr" => match addr.parse() {
            Ok(addr) => Mode::Serve(addr),
            Err(_) => {
                eprintln!("floor-fred: --addr {addr} is not HOST:PORT");
                return ExitCode::from(2);
            }
        },
        [flag, n] if flag == "--cycles" => match n.parse() {
            Ok(n) => Mode::Cycles(n),
            Err(_) => {
                eprintln!("floor-fred: --cycles {n} is not a count");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: REDIS_URL=… floor-fred --addr HOST:PORT | --cycles N");
            return ExitCode::from(2);
        }
    };
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("floor-fred: REDIS_URL is required");
        return ExitCode::from(2);
    };
    let runtime = match mode {
        Mode::Serve(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        Mode::Cycles(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("floor-fred: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(mode, &url))
}

async fn run(mode: Mode, url: &str) -> ExitCode {
    let backend = match connect(url).await {
        Ok(backend) => backend,
        Err(error) => {
            eprintln!("floor-fred: cannot connect to Redis: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match mode {
        Mode::Serve(addr) => addr,
        Mode::Cycles(n) => return cycles(&backend, n).await,
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("floor-fred: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("floor-fred listening on http://{addr} (store: redis, floor, fred)");
    match axum::serve(listener, flash_floor::app(backend)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("floor-fred: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `n` of the floor's cycles on one key, one after another.
async fn cycles(backend: &Fred, n: usize) -> ExitCode {
    let delivered = flash_floor::cycles(backend, n).await;
    println!("{n} cycles, {delivered} messages delivered");
    if delivered == n {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
