"""Shared by the PyTorch sides of the benchmarks: the timing rule of the TypeScript side (2 warm-up steps,
then the median of 5)."""
import time


def median_rate(step, items, warmup=2, reps=5):
    """Items per second of `step()` (which processes `items`), from the median of `reps` timed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return items / times[len(times) // 2]
