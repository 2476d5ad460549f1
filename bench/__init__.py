"""Benchmarks: `make bench` runs bench.run; numbers land in bench/results/."""
