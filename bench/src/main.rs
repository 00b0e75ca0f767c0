//! `bench-server`: the HTTP server of `BENCH_CONTRACT.md`, built on tower-flash.
//!
//! ```text
//! bench-server [--addr 127.0.0.1:8080]
//! FLASH_STORE=memory|redis  REDIS_URL=…  FLASH_KEY=…  FLASH_DELIVERY=confirmed  FLASH_SCOPE=redirect
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match bench::server::Config::from_env(&args, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::from(2);
        }
    };
    match bench::server::serve(config, shutdown()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
