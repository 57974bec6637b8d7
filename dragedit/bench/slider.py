"""Time the Semantics panel's slider previews: `python -m dragedit.bench.slider [--model M] [--threads N]`.

A preview is what the app does per slider move: apply the direction to the latent, run the synthesis
forward (no graph) and convert to uint8. Prints median and p95 ms and previews per second."""
from __future__ import annotations

import argparse
import json


def bench_slider(G, n=60, low_res=False) -> dict:
    """Median and p95 ms of n previews along the model's first direction from seed 0, after 5 warm-ups."""
    import numpy as np
    from ..edit import semantics
    from ..nets.stylegan2 import ws_from_seed
    ds = semantics.directions(G)
    d = ds[0]
    ws = ws_from_seed(G, 0)
    semantics.measure_previews(G, ws, d, n=5, low_res=low_res)  # warm-up
    t = np.array(semantics.measure_previews(G, ws, d, n=n, low_res=low_res))
    return dict(low_res=low_res, n=n,
                median_ms=round(float(np.median(t)), 2), p95_ms=round(float(np.percentile(t, 95)), 2),
                previews_per_s=round(1000 / float(np.median(t)), 1))


def main(argv=None) -> int:
    import torch
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--low-res", action="store_true", help="time the low-resolution preview")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    G = load_generator(resolve_model_path(args.model))
    out = dict(model=str(args.model), threads=args.threads, **bench_slider(G, n=args.n, low_res=args.low_res))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
