//! `bench-report`: writes BENCHMARKS.md from a run's results.
fn main() {}
