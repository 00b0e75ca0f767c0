//! `BENCHMARKS.md` and its chart, from the results of one run of `bench/run.sh`.
//!
//! The results file holds one JSON object per line: load outcomes ([`Outcome`]), and lines
//! with a `"kind"` for everything else a run measures (the machine, Redis round trips and
//! memory per message, the soak).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::load::Outcome;

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Load outcomes, by store then scenario.
    pub outcomes: Vec<Outcome>,
    /// Other measurements, by kind: the raw JSON objects.
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Results {
    /// Parses a results file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut results = Results::default();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            match value.get("kind").and_then(|k| k.as_str()) {
                Some(kind) => {
                    results.extra.insert(kind.to_owned(), value);
                }
                None => results.outcomes.push(
                    serde_json::from_value(value).map_err(|e| format!("line {}: {e}", n + 1))?,
                ),
            }
        }
        Ok(results)
    }

    fn get(&self, label: &str, scenario: &str) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.label == label && o.scenario == scenario)
    }

    fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for o in &self.outcomes {
            if !labels.contains(&o.label) {
                labels.push(o.label.clone());
            }
        }
        labels
    }

    fn scenarios(&self) -> Vec<String> {
        let mut scenarios: Vec<String> = Vec::new();
        for o in &self.outcomes {
            if !scenarios.contains(&o.scenario) {
                scenarios.push(o.scenario.clone());
            }
        }
        scenarios
    }

    /// `scenario` on `label` over `bare` on the same store, as measured in this run.
    fn ratio(&self, label: &str, scenario: &str) -> Option<f64> {
        let bare = self.get(label, "bare")?.rps;
        Some(self.get(label, scenario)?.rps / bare)
    }

    /// `scenario` on `label` over `scenario` on `other`, as measured in this run.
    fn versus(&self, label: &str, other: &str, scenario: &str) -> Option<f64> {
        Some(self.get(label, scenario)?.rps / self.get(other, scenario)?.rps)
    }

    /// Server and Redis CPU per redirect cycle (two requests), in microseconds.
    fn cpu_per_cycle(&self, label: &str) -> Option<f64> {
        Some(self.get(label, "cycle")?.cpu_us_per_request? * 2.0)
    }

    /// Redis's own CPU per redirect cycle (two requests), in microseconds.
    fn redis_cpu_per_cycle(&self, label: &str) -> Option<f64> {
        Some(self.get(label, "cycle")?.redis_cpu_us_per_request? * 2.0)
    }

    /// Redis commands per redirect cycle (two requests).
    fn commands_per_cycle(&self, label: &str) -> Option<f64> {
        Some(self.get(label, "cycle")?.redis_commands_per_request? * 2.0)
    }

    fn extra_f64(&self, kind: &str, field: &str) -> Option<f64> {
        self.extra.get(kind)?.get(field)?.as_f64()
    }
}

/// The label of the floor server's outcomes (`floor-server`, bench/floor, on tower-flash's
/// redis-rs connection).
pub const FLOOR: &str = "floor";
/// The labels of the floor on the other clients and settings (`bare` and `cycle` only):
/// redis-rs's plain multiplexed connection, the manager with a larger pipeline buffer, fred.
pub const FLOOR_VARIANTS: [&str; 3] = ["floor-multiplexed", "floor-buffer", "floor-fred"];
/// The label of the peer's outcomes (actix-web-flash-messages on actix-session's Redis
/// store, bench/peer-actix).
pub const PEER: &str = "actix-peer";

/// One target of the performance issue, checked against the run.
struct Target {
    what: &'static str,
    goal: String,
    measured: Option<f64>,
    met: Option<bool>,
}

fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let mut ratio_target = |what: &'static str, label: &str, scenario: &str, min: f64| {
        let measured = r.ratio(label, scenario);
        out.push(Target {
            what,
            goal: format!("≥ {min:.2} × bare"),
            measured,
            met: measured.map(|m| m >= min),
        });
    };
    ratio_target(
        "health on memory (layer present, unused)",
        "memory",
        "health",
        0.97,
    );
    ratio_target("health on Redis", "redis", "health", 0.97);
    ratio_target("cycle on memory", "memory", "cycle", 0.75);
    ratio_target("cycle on Redis", "redis", "cycle", 0.4);
    let redis_vs_memory = match (r.get("redis", "cycle"), r.get("memory", "cycle")) {
        (Some(redis), Some(memory)) => Some(redis.rps / memory.rps),
        _ => None,
    };
    out.push(Target {
        what: "cycle on Redis vs cycle on memory",
        goal: "≥ 0.80 ×".to_owned(),
        measured: redis_vs_memory,
        met: redis_vs_memory.map(|m| m >= 0.8),
    });
    for (what, other, min) in [
        ("cycle on Redis vs the floor's cycle", FLOOR, 0.9),
        (
            "cycle on Redis vs actix-web-flash-messages on actix-session's Redis store",
            PEER,
            1.3,
        ),
    ] {
        let measured = r.versus("redis", other, "cycle");
        out.push(Target {
            what,
            goal: format!("≥ {min:.2} ×"),
            measured,
            met: measured.map(|m| m >= min),
        });
    }
    let cpu = r
        .cpu_per_cycle("redis")
        .zip(r.cpu_per_cycle(FLOOR))
        .map(|(mine, floor)| mine / floor);
    out.push(Target {
        what: "server + Redis CPU per Redis cycle vs the floor's",
        goal: "≤ 1.10 ×".to_owned(),
        measured: cpu,
        met: cpu.map(|c| c <= 1.1),
    });
    let commands = r.commands_per_cycle("redis");
    out.push(Target {
        what: "Redis commands per cycle (`INFO stats`, a script's own commands included)",
        goal: "≤ 3".to_owned(),
        measured: commands,
        met: commands.map(|c| c <= 3.05),
    });
    for (what, field) in [
        (
            "Redis memory per pending message, one per client",
            "bytes_per_message",
        ),
        (
            "Redis memory per pending message, ten per client",
            "bytes_per_message_ten_per_client",
        ),
    ] {
        let measured = r.extra_f64("memory", field);
        out.push(Target {
            what,
            goal: "≤ 200 bytes".to_owned(),
            measured,
            met: measured.map(|b| b <= 200.0),
        });
    }
    // The floor and the peer keep none of tower-flash's guarantees: their counters are
    // reported, not targets.
    let counters: u64 = r
        .outcomes
        .iter()
        .filter(|o| {
            o.label != FLOOR && o.label != PEER && !FLOOR_VARIANTS.contains(&o.label.as_str())
        })
        .map(|o| o.lost + o.duplicated + o.foreign)
        .sum();
    out.push(Target {
        what: "correctness counters, every scenario and store of tower-flash",
        goal: "all 0".to_owned(),
        measured: Some(counters as f64),
        met: Some(counters == 0),
    });
    if let Some(growth) = r.extra_f64("soak", "rss_growth_after_warmup") {
        out.push(Target {
            what: "soak: resident memory growth after warm-up",
            goal: "< 10 %".to_owned(),
            measured: Some(growth * 100.0),
            met: Some(growth < 0.10),
        });
        let without_ttl = r.extra_f64("soak", "keys_without_ttl").unwrap_or(f64::NAN);
        out.push(Target {
            what: "soak: Redis keys without a TTL",
            goal: "0".to_owned(),
            measured: Some(without_ttl),
            met: Some(without_ttl == 0.0),
        });
    }
    out
}

/// Writes the report (Markdown) and the chart (`chart` path, SVG). The report links the chart
/// by `chart` as given, so give it relative to where the report is written (`bench/run.sh`
/// writes BENCHMARKS.md at the root and the chart at `bench/benchmarks.svg`).
pub fn write(r: &Results, chart: &Path, notes: &str) -> Result<String, String> {
    draw(r, chart).map_err(|e| format!("chart: {e}"))?;
    let chart_name = chart.to_string_lossy().into_owned();
    let mut md = String::new();
    let machine = r.extra.get("machine");
    let field = |name: &str| {
        machine
            .and_then(|m| m.get(name))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    };
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `bash bench/run.sh{}` on {} (commit {}, {} cores; {}). \
         Ratios compare scenarios measured in this same run: this machine is shared and \
         noisy, absolute figures move between runs, ratios much less.\n",
        field("args"),
        field("date"),
        field("commit"),
        field("cores"),
        field("pinning"),
    );
    let _ = writeln!(
        md,
        "![throughput and p99 per scenario and store]({chart_name})\n"
    );
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "{} virtual users per run, each with its own cookie jar and keep-alive connection; \
         {} s measured after a warm-up. `race` users have two connections.\n",
        r.outcomes.first().map_or(0, |o| o.users),
        r.outcomes.first().map_or(0.0, |o| o.seconds),
    );
    let _ = writeln!(
        md,
        "| store | scenario | req/s | × bare | p50 µs | p99 µs | max µs | errors | lost | duplicated | foreign | CPU µs / request | Redis commands / request |"
    );
    let _ = writeln!(
        md,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for label in r.labels() {
        for scenario in r.scenarios() {
            if let Some(o) = r.get(&label, &scenario) {
                let _ = writeln!(
                    md,
                    "| {label} | {scenario} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    o.rps,
                    r.ratio(&label, &scenario)
                        .map_or_else(|| "–".to_owned(), |x| format!("{x:.2}")),
                    o.p50_us,
                    o.p99_us,
                    o.max_us,
                    o.errors,
                    o.lost,
                    o.duplicated,
                    o.foreign,
                    o.cpu_us_per_request
                        .map_or_else(|| "–".to_owned(), |x| format!("{x:.1}")),
                    o.redis_commands_per_request
                        .map_or_else(|| "–".to_owned(), |x| format!("{x:.2}")),
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "\n`floor` is `floor-server` (bench/floor): the same routes in bare axum over the \
         fewest redis-rs calls on tower-flash's connection type (one pipelined `RPUSH` + \
         `PEXPIRE` per push, one `LPOP key n` per read), the limit of the dependency stack. \
         `floor-multiplexed` is the same on redis-rs's plain multiplexed connection without \
         the reconnecting manager and without a response timeout, `floor-buffer` on the \
         manager with a pipeline buffer of 1,024 commands (redis-rs's default: 50), \
         `floor-fred` on fred 10 (bench/floor-fred) with a 5 s command timeout and \
         reconnection. \
         `actix-peer` is bench/peer-actix: actix-web-flash-messages on actix-session's Redis \
         store; it keeps messages in the session, which any request through its middleware \
         rewrites, so its counters under `race` are its own behaviour. CPU is the server's \
         and Redis's (every thread's `schedstat`) over the measured seconds, per request."
    );
    let _ = writeln!(md, "\n## Redis cycle against the floor and the peer\n");
    let _ = writeln!(
        md,
        "| server | cycle req/s | × this server's bare | redis cycle over this | server + Redis CPU µs per cycle | of which Redis | Redis commands per cycle |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    let fmt = |x: Option<f64>, digits: usize| {
        x.map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
    };
    for label in ["redis", FLOOR]
        .into_iter()
        .chain(FLOOR_VARIANTS)
        .chain([PEER])
    {
        if let Some(o) = r.get(label, "cycle") {
            let _ = writeln!(
                md,
                "| {label} | {:.0} | {} | {} | {} | {} | {} |",
                o.rps,
                fmt(r.ratio(label, "cycle"), 2),
                fmt(r.versus("redis", label, "cycle"), 2),
                fmt(r.cpu_per_cycle(label), 1),
                fmt(r.redis_cpu_per_cycle(label), 1),
                fmt(r.commands_per_cycle(label), 2),
            );
        }
    }
    let _ = writeln!(md, "\n## Targets\n");
    let _ = writeln!(md, "| target | goal | measured | met |");
    let _ = writeln!(md, "|---|---|---:|---|");
    for t in targets(r) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.what,
            t.goal,
            t.measured
                // Three decimals below 10: a ratio of 0.748 against a goal of 0.75 must not
                // read "0.75, no".
                .map_or_else(
                    || "not measured".to_owned(),
                    |m| if m.abs() < 10.0 {
                        format!("{m:.3}")
                    } else {
                        format!("{m:.2}")
                    },
                ),
            match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            }
        );
    }
    if let Some(cost) = r.extra.get("redis-cost") {
        let figure = |run: &str, field: &str| {
            cost.get(run)
                .and_then(|v| v.get(field))
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN)
        };
        let _ = writeln!(md, "\n## Redis cost per redirect cycle\n");
        let _ = writeln!(
            md,
            "From Redis's own counters (`INFO stats`: socket reads and commands) over `cycle` \
             (set → 302 → read). One user, each request alone: **{:.2} round trips** and {:.2} \
             commands per cycle (the push is one script call, `EVALSHA`, which runs `RPUSH` and \
             `PEXPIRE`, and `LTRIM` only past the cap; the read one `LPOP`; Redis counts a \
             script's own commands too). With {} users the multiplexed connection batches concurrent \
             requests: {:.2} socket reads and {:.2} commands per cycle.\n",
            figure("alone", "round_trips_per_cycle"),
            figure("alone", "commands_per_cycle"),
            figure("loaded", "users"),
            figure("loaded", "round_trips_per_cycle"),
            figure("loaded", "commands_per_cycle"),
        );
    }
    if let Some(mem) = r.extra.get("memory") {
        let int = |field: &str| mem.get(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let float = |field: &str| mem.get(field).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        let _ = writeln!(md, "\n## Redis memory per pending message\n");
        let _ = writeln!(
            md,
            "{} clients with one pending message each (an encoded element of {} bytes): \
             `used_memory` grew by {:.0} bytes per message, the client's key included; \
             `MEMORY USAGE` of one such key: {} bytes. With ten messages per client: {:.0} bytes \
             per message; `MEMORY USAGE` of one such key: {} bytes. Redis 7.0 (Debian 12's) \
             stores every list as a quicklist, about 180 bytes of fixed cost per key; Redis 7.2 \
             and later store small lists as a listpack, which this layout gets without change.\n",
            int("clients"),
            int("element_bytes"),
            float("bytes_per_message"),
            int("memory_usage_one_key"),
            float("bytes_per_message_ten_per_client"),
            int("memory_usage_key_of_ten"),
        );
    }
    if let Some(by_server) = r.extra.get("memory-servers") {
        let _ = writeln!(md, "\n## Redis memory per pending message, by server\n");
        let _ = writeln!(
            md,
            "Measured by `bash bench/memory.sh` (run of {}, commit {}) on each server the store \
             supports: 2000 clients with one pending message each, then with ten; bytes per \
             message from the growth of `used_memory`, the client's key included.\n",
            by_server
                .get("date")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
            by_server
                .get("commit")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
        );
        let _ = writeln!(
            md,
            "| server | clients | element bytes | bytes per message, one per client | `MEMORY USAGE` of that key | bytes per message, ten per client | `MEMORY USAGE` of that key |\n\
             |--------|---------|---------------|-----------------------------------|----------------------------|-----------------------------------|----------------------------|"
        );
        let servers = by_server.get("servers").and_then(|v| v.as_array());
        for server in servers.into_iter().flatten() {
            let int = |field: &str| server.get(field).and_then(|v| v.as_u64()).unwrap_or(0);
            let float = |field: &str| {
                server
                    .get(field)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {} | {:.0} | {} |",
                server.get("server").and_then(|v| v.as_str()).unwrap_or("?"),
                int("clients"),
                int("element_bytes"),
                float("bytes_per_message"),
                int("memory_usage_one_key"),
                float("bytes_per_message_ten_per_client"),
                int("memory_usage_key_of_ten"),
            );
        }
    }
    if let Some(soak) = r.extra.get("soak") {
        let _ = writeln!(md, "\n## Soak\n");
        let _ = writeln!(
            md,
            "`cycle` on Redis for {} s at steady load (run of {}, commit {}): server resident \
             memory {} (KiB, sampled every 10 s); growth after warm-up {:.1} %; keys without a \
             TTL at the end: {}; lost {}, duplicated {}, foreign {}.\n",
            soak.get("seconds").and_then(|v| v.as_u64()).unwrap_or(0),
            soak.get("date").and_then(|v| v.as_str()).unwrap_or("?"),
            soak.get("commit").and_then(|v| v.as_str()).unwrap_or("?"),
            soak.get("rss_kib")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            soak.get("rss_growth_after_warmup")
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN)
                * 100.0,
            soak.get("keys_without_ttl")
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            soak.get("lost").and_then(|v| v.as_u64()).unwrap_or(0),
            soak.get("duplicated").and_then(|v| v.as_u64()).unwrap_or(0),
            soak.get("foreign").and_then(|v| v.as_u64()).unwrap_or(0),
        );
    } else {
        let _ = writeln!(
            md,
            "\n## Soak\n\nNot part of this run: `bash bench/run.sh --soak 600` adds it.\n"
        );
    }
    md.push_str(notes);
    Ok(md)
}

fn draw(r: &Results, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let labels = r.labels();
    let scenarios = r.scenarios();
    let root = SVGBackend::new(path, (960, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    let colors = [
        RGBColor(52, 101, 164),
        RGBColor(204, 0, 0),
        RGBColor(78, 154, 6),
        // The floor and the peer (issue 15), then the cluster: one color a label.
        RGBColor(117, 80, 123),
        RGBColor(193, 125, 17),
        RGBColor(85, 87, 83),
    ];
    type Metric = fn(&Outcome) -> f64;
    let throughput: Metric = |o| o.rps;
    let p99: Metric = |o| o.p99_us as f64;
    for (area, title, value) in [
        (&left, "throughput (req/s)", throughput),
        (&right, "p99 latency (µs)", p99),
    ] {
        // Headroom above the tallest bar for the legend.
        let max = r.outcomes.iter().map(value).fold(1.0, f64::max) * 1.45;
        let n = scenarios.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, 0.0..max)?;
        let names = scenarios.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 0.01 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()?;
        let width = 0.8 / labels.len().max(1) as f64;
        for (li, label) in labels.iter().enumerate() {
            let color = colors[li % colors.len()];
            let bars: Vec<_> = scenarios
                .iter()
                .enumerate()
                .filter_map(|(si, s)| {
                    let o = r.get(label, s)?;
                    let x0 = si as f64 + 0.1 + li as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.95, value(o))],
                        color.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"kind":"machine","cores":2,"date":"d","commit":"c","args":"","pinning":"p"}
{"scenario":"bare","label":"memory","users":32,"seconds":1.0,"requests":100,"rps":100.0,"p50_us":1,"p99_us":2,"max_us":3,"errors":0,"lost":0,"duplicated":0,"foreign":0}
{"scenario":"cycle","label":"memory","users":32,"seconds":1.0,"requests":70,"rps":70.0,"p50_us":1,"p99_us":2,"max_us":3,"errors":0,"lost":0,"duplicated":0,"foreign":0}
{"scenario":"bare","label":"redis","users":32,"seconds":1.0,"requests":80,"rps":80.0,"p50_us":1,"p99_us":2,"max_us":3,"errors":0,"lost":0,"duplicated":0,"foreign":0}
{"scenario":"cycle","label":"redis","users":32,"seconds":1.0,"requests":40,"rps":40.0,"p50_us":1,"p99_us":2,"max_us":3,"errors":0,"lost":0,"duplicated":0,"foreign":0,"cpu_us_per_request":40.0,"redis_cpu_us_per_request":12.0,"redis_commands_per_request":3.0}
{"scenario":"cycle","label":"floor","users":32,"seconds":1.0,"requests":50,"rps":50.0,"p50_us":1,"p99_us":2,"max_us":3,"errors":0,"lost":0,"duplicated":0,"foreign":0,"cpu_us_per_request":30.0,"redis_commands_per_request":2.0}
{"kind":"memory","clients":10,"element_bytes":60,"bytes_per_message":150.0,"memory_usage_one_key":120}
{"kind":"memory-servers","date":"2026-12-01T03:00Z","commit":"abc1234","servers":[{"server":"Valkey 9.1.2","clients":10,"element_bytes":60,"bytes_per_message":90.5,"memory_usage_one_key":80,"bytes_per_message_ten_per_client":70.0,"memory_usage_key_of_ten":700}]}
"#;

    #[test]
    fn report_has_ratios_targets_and_a_chart() {
        let results = Results::parse(SAMPLE).unwrap();
        assert_eq!(results.ratio("memory", "cycle"), Some(0.7));
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("chart.svg");
        let md = write(&results, &chart, "notes").unwrap();
        assert!(md.contains("| memory | cycle | 70 | 0.70 |"), "{md}");
        assert!(md.contains("| 40.0 | 3.00 |"), "{md}");
        assert!(
            md.contains("| redis | 40 | 0.50 | 1.00 | 80.0 | 24.0 | 6.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| floor | 50 | – | 0.80 | 60.0 | – | 4.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| cycle on Redis vs the floor's cycle | ≥ 0.90 × | 0.800 | **no** |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| server + Redis CPU per Redis cycle vs the floor's | ≤ 1.10 × | 1.333 | **no** |"
            ),
            "{md}"
        );
        assert!(md.contains("| ≤ 3 | 6.000 | **no** |"), "{md}");
        assert!(
            md.contains("| Valkey 9.1.2 | 10 | 60 | 90 | 80 | 70 | 700 |"),
            "{md}"
        );
        assert!(md.contains(&format!("]({})", chart.display())), "{md}");
        assert!(
            md.contains("| cycle on memory | ≥ 0.75 × bare | 0.700 | **no** |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| Redis memory per pending message, one per client | ≤ 200 bytes | 150.00 | yes |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| cycle on Redis | ≥ 0.40 × bare | 0.500 | yes |")
                && md.contains(
                    "| cycle on Redis vs actix-web-flash-messages on actix-session's Redis store | ≥ 1.30 × | not measured | – |"
                ),
            "{md}"
        );
        let svg = std::fs::read_to_string(chart).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("throughput"),
            "{svg}"
        );
    }
}
