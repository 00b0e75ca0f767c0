//! `bench-server`: the HTTP server of `bench/CONTRACT.md`, built on tower-flash, on axum or
//! (`FLASH_FRAMEWORK=actix`) on actix-web.
//!
//! ```text
//! bench-server [--addr 127.0.0.1:8080]
//! FLASH_FRAMEWORK=axum|actix  FLASH_STORE=memory|redis  REDIS_URL=…  FLASH_KEY=…
//! FLASH_DELIVERY=confirmed  FLASH_SCOPE=redirect
//! ```

use std::process::ExitCode;

use bench::server::Framework;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match bench::server::Config::from_env(&args, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::from(2);
        }
    };
    let served = match config.framework {
        Framework::Axum => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                runtime.block_on(async { bench::server::serve(config, shutdown()).await })
            }
            Err(error) => {
                eprintln!("bench-server: cannot start the Tokio runtime: {error}");
                return ExitCode::FAILURE;
            }
        },
        // actix-web runs its own runtimes: one for this thread (the store's connection
        // lives here), one per worker thread.
        Framework::Actix => actix_web::rt::System::new()
            .block_on(async { bench::actix_server::serve(config, shutdown()).await }),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
///
/// The handlers are installed here, before the server starts, not on the future's first
/// poll: a signal sent as soon as the server answers must not be missed (nor, without a
/// handler, take the default action, or none when the shell started us with SIGINT ignored).
fn shutdown() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match handlers {
                Ok((mut interrupt, mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
