"""Shared by the PyTorch sides of the benchmarks: the timing rule of the TypeScript side (warm-up calls, then
the median of the timed ones)."""
import statistics
import time


def median_ms(fn, reps=5, warmup=2):
    """Median milliseconds of `reps` calls of `fn` after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def median_rate(step, items, warmup=2, reps=5):
    """Items per second of `step()` (which processes `items`), from the median of `reps` timed calls."""
    return items / (median_ms(step, reps, warmup) / 1000)
