//! `floor-fred`: the floor of bench/floor (bench/CONTRACT.md's routes in bare axum over the
//! fewest Redis calls) on fred instead of redis-rs, with the guarantees tower-flash needs
//! from a client: a deadline on every command (5 s, as tower-flash's backstop) and
//! reconnection.
//!
//! ```text
//! floor-fred --addr 127.0.0.1:8080   REDIS_URL=redis://…|redis+unix://…
//! ```

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

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = match args.as_slice() {
        [flag, addr] if flag == "--addr" => match addr.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("floor-fred: --addr {addr} is not HOST:PORT");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: REDIS_URL=… floor-fred --addr HOST:PORT");
            return ExitCode::from(2);
        }
    };
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("floor-fred: REDIS_URL is required");
        return ExitCode::from(2);
    };
    let backend = match connect(&url).await {
        Ok(backend) => backend,
        Err(error) => {
            eprintln!("floor-fred: cannot connect to Redis: {error}");
            return ExitCode::FAILURE;
        }
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
