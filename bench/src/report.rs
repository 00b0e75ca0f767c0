//! `BENCHMARKS.md` and its chart, from the results of one run.
