"""Better directions for the named factors: measured on the generator's own images, per layer range.

The mean change of w per unit of z_i (`semantics.factor_vectors`) is where the mapping sends a
factor, not what the synthesis draws with it: on the adversarially tuned model, moving along the
yaw one mostly squashes one eye. Here each factor's direction is fitted to what the detector sees:

1. A basis of candidate moves: the mean direction of every factor with a signature on each layer
   range (coarse, middle, fine) of W+ separately, so a factor may live on the layers that draw it.
2. Many random moves in that basis, each rendered both ways around a fresh latent (+delta and
   -delta: the difference cancels the base image and the curvature), and the landmark signatures
   of both read with the shipped detector. Ridge regression of the signature change on the move
   gives the Jacobian J [signatures, basis].
3. Factor i's direction is the smallest move (in basis coefficients) with J c = e_i: its own
   signature changes by one unit and the others, to first order, not at all. Its length is set so
   that amount 1 moves the signature by 1/6 of what the factor's whole range moves it in the
   renderer (amount +-3 spans the range).

The result is stored in the model file as `factor_directions` (weights untouched) and used by
`semantics.directions` from then on:

    python -m dragedit.edit.factor_estimate MODEL.pt --threads 1

It is deterministic for a given model file and thread count (fixed seeds, no sampling on the fly).
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from ..errors import DragEditError
from . import factor_check, semantics
from . import factor_signatures as fsig

PAIRS = 3072            # random moves, each rendered both ways
STEP = 0.5              # standard deviation of each basis coefficient (z units of the factor)
SEED = 20261202         # latents and moves: not the checked seeds 0..31
GROUPS = ("coarse", "middle", "fine")
RIDGE = 1e-2            # regression of the signature change on the move (relative to the moves' energy)
MIN_NORM_RIDGE = 1e-2   # the smallest-move solve (relative to J Jᵀ's scale)
OUTLIER = 8.0           # a pair whose signature change exceeds this many spreads is a detector miss
METHOD = "ridge-jacobian-v1"


def renderer_range() -> np.ndarray:
    """[len(SIGNATURES)] change of each signature when its factor goes 0 -> 1 on the average face
    (the renderer's exact landmarks)."""
    from ..synth import faces
    out = np.empty(len(fsig.SIGNATURES))
    for i, name in enumerate(fsig.SIGNATURES):
        k = faces.FACTOR_INDEX[name]
        lo = faces.default_factors()[None].repeat(2, 0)
        lo[0, k], lo[1, k] = 0.0, 1.0
        s = fsig.signatures(faces.landmarks_of(lo))
        out[i] = s[1, i] - s[0, i]
    return out


def basis(G, groups=GROUPS) -> tuple:
    """([n, num_ws, w_dim] candidate moves, [(group, factor index)]): the mean W direction (per unit
    of its z) of each factor with a signature, on one layer range. Only those: with the colour,
    hair and lighting factors in the basis as well, the fit (blind to colour) used them freely, and
    smile or gaze repainted the background."""
    vecs = semantics.factor_vectors(G)
    names = semantics.factor_names(G)
    keep = [names.index(n) for n in fsig.SIGNATURES]
    moves, labels = [], []
    for g in groups:
        idx = semantics.layer_indices(G, g)
        for k in keep:
            m = torch.zeros(G.num_ws, G.w_dim)
            m[idx] = vecs[k]
            moves.append(m)
            labels.append((g, k))
    return torch.stack(moves), labels


@torch.no_grad()
def sample_pairs(G, moves, pairs=PAIRS, step=STEP, seed=SEED, batch=32, detector=None, log=None):
    """(X [pairs, n] basis coefficients, Y [pairs, signatures] signature change in spreads over random
    rendered faces): each move rendered both ways around a latent drawn as the app draws them, Y the
    half difference (the base image and the curvature cancel)."""
    rng = np.random.RandomState(seed)
    z = torch.from_numpy(rng.randn(pairs, G.z_dim).astype(np.float32))
    coef = torch.from_numpy((rng.randn(pairs, len(moves)) * step).astype(np.float32))
    spread = fsig.renderer_spread()
    Y = []
    for b in range(0, pairs, batch):
        w = G.mapping(z[b:b + batch], None, truncation_psi=factor_check.TRUNCATION_PSI)
        delta = torch.einsum("pn,nkd->pkd", coef[b:b + batch], moves)
        up = factor_check.signatures_of(G, w + delta, detector)
        down = factor_check.signatures_of(G, w - delta, detector)
        Y.append((up - down) / 2 / spread)
        if log:
            log(f"  {min(b + batch, pairs)}/{pairs} pairs rendered")
    return coef.double().numpy(), np.concatenate(Y)


def fit_jacobian(X, Y, ridge=RIDGE):
    """(J [signatures, n], R² per signature, pairs dropped as detector misses) by ridge regression."""
    keep = np.abs(Y).max(axis=1) <= OUTLIER
    X, Y = X[keep], Y[keep]
    A = X.T @ X
    lam = ridge * np.trace(A) / len(A)
    Jt = np.linalg.solve(A + lam * np.eye(len(A)), X.T @ Y)      # [n, signatures]
    resid = Y - X @ Jt
    r2 = 1 - (resid ** 2).sum(0) / np.maximum(((Y - Y.mean(0)) ** 2).sum(0), 1e-12)
    return Jt.T, r2, int((~keep).sum())


def solve_directions(J, moves, target) -> torch.Tensor:
    """[len(SIGNATURES), num_ws, w_dim]: for each signature i, the smallest basis move c with
    J c = target_i e_i, as a W+ vector per unit of amount."""
    JJ = J @ J.T
    mu = MIN_NORM_RIDGE * np.trace(JJ) / len(JJ)
    C = J.T @ np.linalg.solve(JJ + mu * np.eye(len(JJ)), np.diag(target))    # [n, signatures]
    return torch.einsum("ns,nkd->skd", torch.from_numpy(C.astype(np.float32)), moves)


def estimate(G, pairs=PAIRS, step=STEP, seed=SEED, groups=GROUPS, detector=None, log=None) -> dict:
    """{'directions': {name: [num_ws, w_dim] per unit of amount}, 'method', 'pairs', 'fit_r2', ...}
    for every named factor of G with a landmark signature."""
    names = semantics.factor_names(G)
    if not names:
        raise DragEditError("this model has no named factors (its file stores no factor_names): "
                            "nothing to estimate")
    missing = [n for n in fsig.SIGNATURES if n not in names]
    if missing:
        raise DragEditError(f"the model's factors lack {', '.join(missing)}: expected the renderer's factors")
    if G.img_resolution != 128:
        raise DragEditError(f"the landmark detector reads 128-px faces; this model draws {G.img_resolution} px")
    moves, labels = basis(G, groups)
    X, Y = sample_pairs(G, moves, pairs, step, seed, detector=detector, log=log)
    J, r2, dropped = fit_jacobian(X, Y)
    target = renderer_range() / fsig.renderer_spread() / 6.0          # spreads per unit of amount
    dirs = solve_directions(J, moves, target)
    return dict(method=METHOD, pairs=int(pairs), step=float(step), seed=int(seed), groups=list(groups),
                dropped_pairs=dropped, fit_r2={n: round(float(v), 4) for n, v in zip(fsig.SIGNATURES, r2)},
                directions={n: dirs[i].contiguous() for i, n in enumerate(fsig.SIGNATURES)})


def write_into(path, result):
    """Store `result` as the file's `factor_directions`, everything else (weights included) byte for
    byte as it was read; written to a temporary file and renamed."""
    import os
    import tempfile
    from ..io.checkpoint import FORMAT
    path = os.fspath(path)
    obj = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise DragEditError(f"{path}: not a dragedit model file: factor directions can only be stored in one")
    obj["factor_directions"] = result
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    import argparse
    import time
    ap = argparse.ArgumentParser(prog="python -m dragedit.edit.factor_estimate", description=__doc__.splitlines()[0])
    ap.add_argument("model", help="dragedit model file (.pt) with named factors; rewritten in place")
    ap.add_argument("--pairs", type=int, default=PAIRS, help=f"random moves, each rendered both ways (default {PAIRS})")
    ap.add_argument("--groups", default=",".join(GROUPS),
                    help="layer ranges a factor may use, comma-separated (default coarse,middle,fine)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (1 for the reproducible result)")
    ap.add_argument("--check", action="store_true", help="run factor_check on the new directions afterwards")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    from ..io.checkpoint import load_generator
    groups = tuple(g.strip() for g in a.groups.split(",") if g.strip())
    try:
        if a.pairs < 64:
            raise DragEditError(f"--pairs must be at least 64, got {a.pairs}")
        bad = [g for g in groups if g not in semantics.LAYER_RANGES]
        if bad or not groups:
            raise DragEditError(f"--groups {a.groups!r}: expected layer ranges from "
                                f"{', '.join(semantics.LAYER_RANGES)}")
        G = load_generator(a.model)
        t = time.perf_counter()
        result = estimate(G, a.pairs, groups=groups, log=print)
        write_into(a.model, result)
        print(f"wrote factor_directions for {len(result['directions'])} factors into {a.model} "
              f"({time.perf_counter() - t:.0f} s; fit R² " +
              ", ".join(f"{n} {v:.2f}" for n, v in result["fit_r2"].items()) + ")")
        if a.check:
            semantics.clear_cache()
            rows = factor_check.check_model(load_generator(a.model), log=print)
            print(f"{sum(r['passed'] for r in rows)}/{len(rows)} factors pass")
    except DragEditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
