//! `flash-load`: drives any server of `bench/CONTRACT.md` and reports throughput, latency
//! and correctness counters.
//!
//! ```text
//! flash-load --addr 127.0.0.1:8080[,127.0.0.1:8081…] --scenario cycle [--users 32] [--duration 10]
//!            [--warmup 2] [--label memory] [--json] [--server-pid PID] [--rounds N]
//!            [--cpu-pids PID,PID…] [--redis redis+unix:///path.sock] [--redis-pid PID]
//! ```
//!
//! With `--cpu-pids`, the CPU time those processes (the server and Redis, say) spent while
//! measuring is reported per request (`cpu_us_per_request`, from every thread's
//! `/proc/PID/task/TID/schedstat`); with `--redis`, the commands that Redis processed
//! (`redis_commands_per_request`, from `INFO stats`); with `--redis-pid`, Redis's own share of
//! the CPU (`redis_cpu_us_per_request`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bench::load::{LoadConfig, Scenario, run, table_header, table_row};

struct Args {
    config: LoadConfig,
    label: String,
    json: bool,
    server_pid: Option<u32>,
    cpu_pids: Vec<u32>,
    redis: Option<String>,
    redis_pid: Option<u32>,
}

fn parse() -> Result<Args, String> {
    let mut addr = None;
    let mut scenario = None;
    let mut users = 32;
    let mut duration = 10.0;
    let mut warmup = 2.0;
    let mut label = String::new();
    let mut json = false;
    let mut server_pid = None;
    let mut rounds = None;
    let mut cpu_pids = Vec::new();
    let mut redis = None;
    let mut redis_pid = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                let addrs: Result<Vec<SocketAddr>, _> = v.split(',').map(str::parse).collect();
                addr = Some(addrs.map_err(|_| format!("--addr {v}: not HOST:PORT[,HOST:PORT…]"))?);
            }
            "--scenario" => scenario = Some(value("--scenario")?.parse::<Scenario>()?),
            "--users" => users = value("--users")?.parse().map_err(|_| "--users: a number")?,
            "--duration" => {
                duration = value("--duration")?
                    .parse()
                    .map_err(|_| "--duration: seconds")?;
            }
            "--warmup" => {
                warmup = value("--warmup")?
                    .parse()
                    .map_err(|_| "--warmup: seconds")?
            }
            "--label" => label = value("--label")?,
            "--rounds" => {
                rounds = Some(
                    value("--rounds")?
                        .parse()
                        .map_err(|_| "--rounds: a number")?,
                )
            }
            "--server-pid" => {
                server_pid = Some(
                    value("--server-pid")?
                        .parse()
                        .map_err(|_| "--server-pid: a pid")?,
                );
            }
            "--cpu-pids" => {
                let v = value("--cpu-pids")?;
                cpu_pids = v
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--cpu-pids {v}: pids, comma-separated"))?;
            }
            "--redis" => redis = Some(value("--redis")?),
            "--redis-pid" => {
                redis_pid = Some(
                    value("--redis-pid")?
                        .parse()
                        .map_err(|_| "--redis-pid: a pid")?,
                );
            }
            "--json" => json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(addr), Some(scenario)) = (addr, scenario) else {
        return Err("usage: flash-load --addr HOST:PORT --scenario NAME [--users N] [--duration S] [--warmup S] [--label L] [--json] [--server-pid PID] [--rounds N]".to_owned());
    };
    if !(duration > 0.0 && warmup >= 0.0) || users == 0 {
        return Err("--users, --duration must be positive".to_owned());
    }
    Ok(Args {
        config: LoadConfig {
            addrs: addr,
            scenario,
            users,
            duration: Duration::from_secs_f64(duration),
            warmup: Duration::from_secs_f64(warmup),
            rounds,
        },
        label,
        json,
        server_pid,
        cpu_pids,
        redis,
        redis_pid,
    })
}

/// The CPU time, in nanoseconds, that the threads of `pids` have used so far.
fn cpu_ns(pids: &[u32]) -> Option<u64> {
    let mut total = 0;
    for pid in pids {
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            total += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// Redis's `total_commands_processed`.
fn redis_commands(conn: &mut redis::Connection) -> Option<u64> {
    let info: String = redis::cmd("INFO").arg("stats").query(conn).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))?
        .trim()
        .parse()
        .ok()
}

/// What [`sample_costs`] measured between the start and the end of the measured seconds.
struct Costs {
    /// CPU ns of every process of `--cpu-pids`.
    cpu_ns: Option<u64>,
    /// CPU ns of Redis (`--redis-pid`).
    redis_cpu_ns: Option<u64>,
    /// Commands Redis processed.
    commands: Option<u64>,
}

/// Samples the CPU time of `pids` and of `redis_pid`, and Redis's command count, when
/// measuring starts (after `warmup`) and when it ends.
fn sample_costs(
    pids: Vec<u32>,
    redis: Option<String>,
    redis_pid: Option<u32>,
    warmup: Duration,
    duration: Duration,
) -> std::thread::JoinHandle<Costs> {
    std::thread::spawn(move || {
        let mut conn = redis
            .and_then(|url| redis::Client::open(url).ok())
            .and_then(|client| client.get_connection().ok());
        let redis_pids: Vec<u32> = redis_pid.into_iter().collect();
        std::thread::sleep(warmup);
        let cpu0 = cpu_ns(&pids);
        let redis0 = cpu_ns(&redis_pids);
        let cmd0 = conn.as_mut().and_then(redis_commands);
        std::thread::sleep(duration);
        let cpu1 = cpu_ns(&pids);
        let redis1 = cpu_ns(&redis_pids);
        let cmd1 = conn.as_mut().and_then(redis_commands);
        let used = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| b.saturating_sub(a));
        Costs {
            cpu_ns: used(cpu0, cpu1).filter(|_| !pids.is_empty()),
            redis_cpu_ns: used(redis0, redis1).filter(|_| !redis_pids.is_empty()),
            // Less the first INFO, counted once it ran.
            commands: cmd0.zip(cmd1).map(|(a, b)| b.saturating_sub(a + 1)),
        }
    })
}

/// The CPUs a process may run on, from `/proc/PID/status`.
fn cpus(pid: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|s| s.trim().to_owned())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("flash-load: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(pid) = args.server_pid {
        let (mine, theirs) = (cpus("self"), cpus(&pid.to_string()));
        match (&mine, &theirs) {
            (Some(a), Some(b)) if a != b && !a.contains(',') && !a.contains('-') => {
                eprintln!("flash-load: on CPU {a}, server on CPU {b}");
            }
            _ => eprintln!(
                "flash-load: server and load generator share cores (load generator: {}, server: {}); figures include the load generator's cost",
                mine.as_deref().unwrap_or("?"),
                theirs.as_deref().unwrap_or("?")
            ),
        }
    }
    // The load generator is single-threaded: one core, like the server's.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("flash-load: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let sampler = (!args.cpu_pids.is_empty() || args.redis.is_some() || args.redis_pid.is_some())
        .then(|| {
            sample_costs(
                args.cpu_pids.clone(),
                args.redis.clone(),
                args.redis_pid,
                args.config.warmup,
                args.config.duration,
            )
        });
    let mut outcome = runtime.block_on(run(&args.config));
    outcome.label = args.label;
    if let Some(Ok(costs)) = sampler.map(std::thread::JoinHandle::join) {
        let requests = outcome.requests.max(1) as f64;
        let per_request = |ns: u64| ns as f64 / 1000.0 / requests;
        outcome.cpu_us_per_request = costs.cpu_ns.map(per_request);
        outcome.redis_cpu_us_per_request = costs.redis_cpu_ns.map(per_request);
        outcome.redis_commands_per_request = costs.commands.map(|c| c as f64 / requests);
    }
    if args.json {
        match serde_json::to_string(&outcome) {
            Ok(line) => println!("{line}"),
            Err(error) => {
                eprintln!("flash-load: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!("{}", table_header());
        println!("{}", table_row(&outcome));
    }
    ExitCode::SUCCESS
}
