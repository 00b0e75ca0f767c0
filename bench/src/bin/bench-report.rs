//! `bench-report RESULTS.jsonl CHART.svg NOTES.md > BENCHMARKS.md`: the report of one run.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [results, chart, notes] = args.as_slice() else {
        eprintln!("usage: bench-report RESULTS.jsonl CHART.svg NOTES.md > BENCHMARKS.md");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, String> {
        let text = std::fs::read_to_string(results).map_err(|e| format!("{results}: {e}"))?;
        let notes = std::fs::read_to_string(notes).map_err(|e| format!("{notes}: {e}"))?;
        let parsed = bench::report::Results::parse(&text)?;
        bench::report::write(&parsed, Path::new(chart), &notes)
    };
    match run() {
        Ok(md) => {
            print!("{md}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench-report: {error}");
            ExitCode::FAILURE
        }
    }
}
