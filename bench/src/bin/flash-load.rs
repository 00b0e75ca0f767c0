//! `flash-load`: drives any server of `bench/CONTRACT.md` and reports throughput, latency
//! and correctness counters.
//!
//! ```text
//! flash-load --addr 127.0.0.1:8080[,127.0.0.1:8081…] --scenario cycle [--users 32] [--duration 10]
//!            [--warmup 2] [--label memory] [--json] [--server-pid PID] [--rounds N]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bench::load::{LoadConfig, Scenario, run, table_header, table_row};

struct Args {
    config: LoadConfig,
    label: String,
    json: bool,
    server_pid: Option<u32>,
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
    let mut outcome = runtime.block_on(run(&args.config));
    outcome.label = args.label;
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
