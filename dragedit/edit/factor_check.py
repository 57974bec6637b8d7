"""Do the named factors do what they say? Each one, moved by +2 and -2, measured with the detector.

For every factor with a landmark signature (`factor_signatures`), over 32 seeds: render the seed,
the seed moved by +2 and by -2 along the factor's direction, detect the landmarks of all three,
and read the signatures. A factor passes when its own signature moves the right way (up for +2,
down for -2) on at least 90% of the seeds each, and every other signature moves clearly less:
its mean change over the seeds (averaged over +2 and -2, sign dropped), in units of that
signature's spread over random rendered faces, is at most half of the factor's own ("leak").
Means, because a single image's landmarks jitter by a fraction of a pixel whatever the edit.

    python -m dragedit.edit.factor_check MODEL.pt [--seeds 32] [--json] [--threads 1]
"""
from __future__ import annotations

import json
import sys

import numpy as np
import torch

from ..errors import DragEditError
from . import factor_signatures as fsig
from . import semantics

SEEDS = 32
AMOUNT = 2.0
RIGHT_WAY = 0.9         # share of seeds each of +AMOUNT and -AMOUNT must move the signature the right way
MAX_LEAK = 0.5          # another signature's mean change may be at most this share of the factor's own
TRUNCATION_PSI = 0.7    # the app's and the CLI's default


@torch.no_grad()
def render(G, ws, batch=16) -> np.ndarray:
    """uint8 [N, H, W, 3] images of W+ latents [N, num_ws, w_dim], rounded as the app shows them."""
    from ..imaging import to_uint8
    return np.stack([to_uint8(img[None]) for i in range(0, len(ws), batch) for img in G.synthesis(ws[i:i + batch])])


def signatures_of(G, ws, detector=None) -> np.ndarray:
    """[N, len(SIGNATURES)] signatures of the images of ws, landmarks from the shipped detector."""
    from ..synth import landmarks
    images = render(G, ws)
    if images.shape[1:3] != (128, 128):
        import cv2
        images = np.stack([cv2.resize(im, (128, 128), interpolation=cv2.INTER_AREA) for im in images])
    return fsig.signatures(landmarks.detect(images, detector))


def seed_latents(G, seeds=SEEDS, psi=TRUNCATION_PSI) -> torch.Tensor:
    """[seeds, num_ws, w_dim]: the W+ latents of seeds 0..seeds-1 (as the app draws them)."""
    from ..nets.stylegan2 import ws_from_seed
    return torch.cat([ws_from_seed(G, s, truncation_psi=psi) for s in range(int(seeds))])


def moved(G, ws, direction, amount) -> torch.Tensor:
    """ws (a batch) moved along `direction` by `amount`, as `semantics.apply` moves one latent."""
    out = ws.clone()
    out[:, direction.ws_indices] += (float(amount) * direction.scale) * direction.vector.to(ws.dtype)
    return out


def check_directions(G, dirs, seeds=SEEDS, amount=AMOUNT, detector=None, log=None) -> list:
    """One row per direction in `dirs` whose name has a signature: right-way shares, own change and
    worst leak (both in spreads of the signatures over random rendered faces) and whether it passes."""
    spread = fsig.renderer_spread()
    ws = seed_latents(G, seeds)
    s0 = signatures_of(G, ws, detector)
    rows = []
    for d in dirs:
        if d.name not in fsig.SIGNATURES:
            continue
        i = fsig.SIGNATURES.index(d.name)
        up = (signatures_of(G, moved(G, ws, d, amount), detector) - s0) / spread
        down = (signatures_of(G, moved(G, ws, d, -amount), detector) - s0) / spread
        # mean changes over the seeds: what the direction does, not the detector's jitter around it
        change = 0.5 * (np.abs(up.mean(axis=0)) + np.abs(down.mean(axis=0)))
        own = float(0.5 * (up[:, i].mean() - down[:, i].mean()))
        others = change.copy()
        others[i] = -1
        j = int(others.argmax())
        leak = float(others[j] / own) if own > 0 else float("inf")   # moved the wrong way on average: inf
        plus, minus = float((up[:, i] > 0).mean()), float((down[:, i] < 0).mean())
        row = dict(factor=d.name, plus=plus, minus=minus, own=own, leak=leak, leak_into=fsig.SIGNATURES[j],
                   passed=bool(plus >= RIGHT_WAY and minus >= RIGHT_WAY and leak <= MAX_LEAK))
        rows.append(row)
        if log:
            log(format_row(row))
    return rows


def check_model(G, seeds=SEEDS, amount=AMOUNT, detector=None, log=None) -> list:
    """check_directions on G's named factors (a DragEditError if G has none)."""
    if not semantics.factor_names(G):
        raise DragEditError("this model has no named factors (its file stores no factor_names): nothing to check")
    return check_directions(G, semantics.directions(G, k=0), seeds, amount, detector, log)


def format_row(r) -> str:
    return (f"{r['factor']:15s} {'pass' if r['passed'] else 'FAIL'}  +2 right way {100 * r['plus']:5.1f}%  "
            f"-2 right way {100 * r['minus']:5.1f}%  own {r['own']:5.2f}  leak {r['leak']:5.2f} "
            f"({r['leak_into']})")


def main(argv=None) -> int:
    import argparse
    import time
    ap = argparse.ArgumentParser(prog="python -m dragedit.edit.factor_check", description=__doc__.splitlines()[0])
    ap.add_argument("model", help="model file with named factors (.pt), or 'default'")
    ap.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds 0..N-1 (default {SEEDS})")
    ap.add_argument("--amount", type=float, default=AMOUNT, help=f"amount moved each way (default {AMOUNT:g})")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    try:
        G = load_generator(resolve_model_path(a.model))
        t = time.perf_counter()
        rows = check_model(G, a.seeds, a.amount, log=None if a.json else print)
    except DragEditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{sum(r['passed'] for r in rows)}/{len(rows)} factors pass ({time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
