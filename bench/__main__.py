"""Run every benchmark in turn: `python -m bench` (what `make bench` runs)."""

from bench import bench_adapters, bench_webhooks

bench_adapters.main([])
bench_webhooks.main()
