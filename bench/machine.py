"""What every speed benchmark prints first: the CPU (model, family/model, the vector
extensions the kernels can use), the load average (the machine is shared: compare the
ratios measured in one run, not times across runs), the core's kernel level, and a
bandwidth reference: a plain `numpy.sum` over the same bytes a kernel reads."""

import os
import statistics
import time

import numpy as np


def cpu_line():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    key, value = (part.strip() for part in line.split(":", 1))
                    info.setdefault(key, value)
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    vector = [f for f in ("avx512f", "avx512bw", "avx2", "asimd") if f in flags]
    return (f"# CPU: {info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; "
            f"{' '.join(vector) or 'no avx2/avx512'}); {os.cpu_count()} logical CPUs; "
            f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def kernel_line():
    from tally import _tally
    level = _tally.kernel_level() if hasattr(_tally, "kernel_level") else "none (a build before the C kernels)"
    return f"# Tally kernels: {level} (TALLY_KERNEL={os.environ.get('TALLY_KERNEL', 'unset')})"


def median_seconds(fn, repeats, number=1, clock=time.perf_counter):
    """Median seconds per call over `repeats` timings of `number` calls each;
    `clock=time.process_time` counts the process's CPU time (every thread's), which a
    machine loaded by other jobs inflates less than the wall clock."""
    return seconds(fn, repeats, number, clock)[0]


def seconds(fn, repeats, number=1, clock=time.perf_counter):
    """(median seconds per call, the last call's result): see `median_seconds`."""
    times, result = [], None
    for _ in range(repeats):
        t0 = clock()
        for _ in range(number):
            result = fn()
        times.append((clock() - t0) / number)
    return statistics.median(times), result


def numpy_sum(arrays):
    """A call of `numpy.sum` over the arrays' bytes (as uint32 words summed in uint32, so numpy
    neither converts nor widens): what reading those bytes once costs here."""
    views = [a.reshape(-1).view(np.uint32) if a.nbytes % 4 == 0 else a.reshape(-1).view(np.uint8) for a in arrays]
    return lambda: [v.sum(dtype=v.dtype) for v in views]


def numpy_sum_seconds(arrays, repeats):
    """Median seconds of `numpy_sum(arrays)`."""
    return median_seconds(numpy_sum(arrays), repeats)


def paired_medians(fns, repeats, clock=time.perf_counter):
    """Median seconds per call of each of `fns`, called in turn `repeats` rounds: a kernel and
    its anchor (numpy.sum over the same bytes) then see the same machine, where timing one
    after the other let a drift of these shared machines (±10-30 % over a minute) into the ratio."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = clock()
            fn()
            ts.append(clock() - t0)
    return [statistics.median(ts) for ts in times]


def gbps(nbytes, seconds):
    return nbytes / seconds / 1e9


def target(ratio, goal, more_is_better=True, unit=""):
    met = ratio >= goal if more_is_better else ratio <= goal
    return f"target {'>=' if more_is_better else '<='} {goal:g}{unit}: {'met' if met else 'NOT met'}"
