"""The "fast and frugal" benchmark: latency, polling cost, memory, throughput and
parsing speed of kmeet-bridge against real servers on loopback.

    python -m benchmarks                  # every measurement, 5 runs each
    python -m benchmarks --quick --only parsing

See benchmarks/README.md for what each figure means and the latest table.
"""
