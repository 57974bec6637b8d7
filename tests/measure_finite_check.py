"""What the finiteness check adds to loading a 512-px config-f NVIDIA pickle (not a test).

Run from the repository root: `python3 tests/measure_finite_check.py [repeats] [threads]`.
Loads alternate with the check on and off (replaced by a no-op) in one process; prints the
medians and the ratio.
"""
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op

from dragedit.bench import config_f_generator
from dragedit.io import strict
from dragedit.io.checkpoint import load_generator


def main(repeats=7, threads=1):
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = op.write_official_pickle(config_f_generator(512), os.path.join(tmp, "f512.pkl"), num_fp16_res=4)
        size_mb = os.path.getsize(path) / 2 ** 20
        real = strict.check_finite
        inside = []

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                inside.append(time.perf_counter() - t0)

        times = {"with check": [], "without": []}
        load_generator(path)  # warm the page cache and torch's first-use costs
        for i in range(2 * repeats):
            on = i % 2 == 0
            strict.check_finite = timed if on else (lambda *a, **k: None)
            t = time.perf_counter()
            load_generator(path)
            times["with check" if on else "without"].append(time.perf_counter() - t)
        strict.check_finite = real
        t = time.perf_counter()
        G = load_generator(path)
        sd = G.state_dict()
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        real(sd, path)
        t_check = time.perf_counter() - t
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"512-px config-f pickle, {size_mb:.0f} MiB, {threads} thread(s), {repeats} loads each, alternating")
    for k, v in times.items():
        print(f"  {k:10s}: median {med[k] * 1000:7.1f} ms   all: " + " ".join(f"{x * 1000:.0f}" for x in v))
    pairs = [a - b for a, b in zip(times["with check"], times["without"])]
    print(f"  overhead of the medians: {(med['with check'] / med['without'] - 1) * 100:+.1f} %;  "
          f"median of the paired differences: {statistics.median(pairs) / med['without'] * 100:+.1f} %;  "
          f"of the minima: {(min(times['with check']) / min(times['without']) - 1) * 100:+.1f} %")
    print(f"  time inside the check during the checked loads: {sum(inside) * 1000:.0f} ms of "
          f"{sum(times['with check']) * 1000:.0f} ms = {sum(inside) / sum(times['with check']) * 100:.1f} %")
    print(f"  the check alone on a loaded state dict: {t_check * 1000:.1f} ms (that load: {t_load * 1000:.0f} ms)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
