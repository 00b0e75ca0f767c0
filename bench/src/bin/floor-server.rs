//! `floor-server`: the routes of `bench/CONTRACT.md` in bare axum over the fewest redis-rs
//! calls (see [`flash_floor`]): what tower-flash's Redis cycle is measured against.
//!
//! ```text
//! floor-server --addr 127.0.0.1:8080   REDIS_URL=redis://…|redis+unix://…
//!              [FLOOR_CONNECTION=manager|multiplexed|manager-buffer]
//! ```
//!
//! `FLOOR_CONNECTION` picks the redis-rs connection ([`flash_floor::Setting`]); the default,
//! `manager`, is the one tower-flash's `RedisStore::connect` makes.

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = match args.as_slice() {
        [flag, addr] if flag == "--addr" => match addr.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("floor-server: --addr {addr} is not HOST:PORT");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: REDIS_URL=… floor-server --addr HOST:PORT");
            return ExitCode::from(2);
        }
    };
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("floor-server: REDIS_URL is required");
        return ExitCode::from(2);
    };
    let name = std::env::var("FLOOR_CONNECTION").unwrap_or_else(|_| "manager".to_owned());
    let Some(setting) = flash_floor::Setting::from_name(&name) else {
        eprintln!(
            "floor-server: FLOOR_CONNECTION={name:?} is not manager, multiplexed or manager-buffer"
        );
        return ExitCode::from(2);
    };
    let conn = match flash_floor::connect(&url, setting).await {
        Ok(conn) => conn,
        Err(error) => {
            eprintln!("floor-server: cannot connect to Redis: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("floor-server: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("floor-server listening on http://{addr} (store: redis, floor, {name})");
    match axum::serve(listener, flash_floor::app(conn)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("floor-server: {error}");
            ExitCode::FAILURE
        }
    }
}
