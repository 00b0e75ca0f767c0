//! `flash-soak`: mixed load on the memory store and on a throwaway Redis at once, memory
//! sampled all along; exits non-zero when a check fails (see [`bench::soak`]).
//!
//! ```text
//! flash-soak [--minutes 30 | --seconds S] [--ttl 5] [--sample-every 5] [--users 4]
//!            [--pause-ms 20] [--visitors 200] [--max-growth 0.05]
//!            [--max-count-growth 0.05] [--redis-timeout 5] [--redis-server redis-server]
//!            [--jsonl bench/soak.jsonl] [--svg bench/soak.svg]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::soak::{SoakConfig, run};

fn parse() -> Result<SoakConfig, String> {
    let mut config = SoakConfig::default();
    let mut args = std::env::args().skip(1);
    let seconds = |v: String, name: &str| -> Result<Duration, String> {
        v.parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0 && s.is_finite())
            .map(Duration::from_secs_f64)
            .ok_or(format!("{name}: a positive number"))
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--minutes" => {
                config.duration = seconds(value("--minutes")?, "--minutes")? * 60;
            }
            "--seconds" => config.duration = seconds(value("--seconds")?, "--seconds")?,
            "--ttl" => config.ttl = seconds(value("--ttl")?, "--ttl")?,
            "--sample-every" => {
                config.sample_every = seconds(value("--sample-every")?, "--sample-every")?;
            }
            "--users" => {
                config.users = value("--users")?.parse().map_err(|_| "--users: a number")?;
            }
            "--pause-ms" => {
                config.pause = Duration::from_millis(
                    value("--pause-ms")?
                        .parse()
                        .map_err(|_| "--pause-ms: a number")?,
                );
            }
            "--visitors" => {
                config.visitors_per_second = value("--visitors")?
                    .parse()
                    .map_err(|_| "--visitors: a number per second")?;
            }
            "--max-growth" => {
                config.max_growth = value("--max-growth")?
                    .parse()
                    .map_err(|_| "--max-growth: a fraction (0.05)")?;
                config.max_count_growth = config.max_growth;
            }
            "--max-count-growth" => {
                config.max_count_growth = value("--max-count-growth")?
                    .parse()
                    .map_err(|_| "--max-count-growth: a fraction (0.05)")?;
            }
            "--redis-timeout" => {
                config.redis_timeout = seconds(value("--redis-timeout")?, "--redis-timeout")?;
            }
            "--redis-server" => config.redis_server = PathBuf::from(value("--redis-server")?),
            "--jsonl" => config.jsonl = Some(PathBuf::from(value("--jsonl")?)),
            "--svg" => config.svg = Some(PathBuf::from(value("--svg")?)),
            other => {
                return Err(format!(
                    "unknown argument {other} (see the source's header)"
                ));
            }
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let config = match parse() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("flash-soak: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("flash-soak: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "flash-soak: {:.0} s of mixed load on memory and on Redis, TTL {:.1} s, a sample every {:.1} s",
        config.duration.as_secs_f64(),
        config.ttl.as_secs_f64(),
        config.sample_every.as_secs_f64()
    );
    let verdict = match runtime.block_on(run(&config)) {
        Ok(verdict) => verdict,
        Err(error) => {
            eprintln!("flash-soak: {error}");
            return ExitCode::FAILURE;
        }
    };
    match serde_json::to_string_pretty(&verdict) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("flash-soak: {error}"),
    }
    if verdict.passed() {
        eprintln!("flash-soak: passed");
        ExitCode::SUCCESS
    } else {
        for failure in &verdict.failures {
            eprintln!("flash-soak: FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}
