"""The benchmark suite of pyOuroboros: latency, throughput, allocation rate
and memory per flow, side by side with the floor (raw socketpairs from C and
Python) and the real Ouroboros. Run it with ``python -m benchmarks``."""
