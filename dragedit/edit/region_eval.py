"""The region-drag acceptance checks on the shipped face model, over many seeds.

Per seed, with landmarks detected on the start image and again on the result:
- mouth: the mouth's region moved by (0, +6) px: every mouth landmark should move 6 +- 1.5 px that way,
  eye and brow landmarks under 1 px;
- eyes: the region of both eyes scaled by 1.3 about its centre: each eye's corner-to-corner distance should
  grow by at least 15%, mouth and nose landmarks move under 1 px;
- head: the head region turned by 10 degrees: the line through the pupils should turn 10 +- 3 degrees;
- against one pair at the mouth region's centre (moved the same way), the region drag should bring the
  region's landmarks at least 30% closer to their transformed positions. (A scale or turn about the
  centre leaves the centre where it is, so one pair there cannot express it: only the move is compared.)
Each region is the bounding box of its landmarks widened by a margin.

The detector judges a landmark from its surroundings, so a change elsewhere in the face moves its answer
for a part whose pixels did not change. Beside the checks (which it does not change), each region drag
reports `others_context`: how far the other landmarks move on a composite image, the start image with only
the region's flexible area taken from the result: a landmark outside that area has exactly its start
pixels there, so its move is the detector's answer to the change elsewhere, a floor under `others_max`
that no hold of the fixed area can lower (a landmark inside the area, like the nose tip under the
scaled eyes' band, moves there as in the result)."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from ..synth import faces

MOUTH = ("mouth_left", "mouth_right", "upper_lip", "lower_lip")
EYES = tuple(f"{s}_{n}" for s in "lr" for n in ("eye_outer", "eye_inner", "pupil", "eye_top", "eye_bottom"))
BROWS = ("l_brow_outer", "l_brow_inner", "r_brow_inner", "r_brow_outer")
NOSE = ("nose_tip",)
HEAD = tuple(n for n in faces.LANDMARK_NAMES)


def _idx(names):
    return [faces.LANDMARK_INDEX[n] for n in names]


def landmark_box(lm, names, margin, size):
    pts = lm[_idx(names)]
    h, w = size
    x0, y0 = np.clip(pts.min(axis=0) - margin, 0, (w - 1, h - 1))
    x1, y1 = np.clip(pts.max(axis=0) + margin, 0, (w - 1, h - 1))
    return (float(x0), float(y0), float(x1), float(y1))


def _edit(G, seed, params, steps, region=None, pair=None):
    from .drag import DragSession
    s = DragSession(G, seed=seed, params=params)
    if region is not None:
        s.add_region(*region)
    if pair is not None:
        s.add_pair(*pair)
    last = None
    for last in s.run(steps):
        pass
    return s.render(), last, s


def _context_move(detector, start, img, session, lm0, names):
    """Largest move of `names` on the start image with the region's flexible area from img."""
    from ..synth.landmarks import detect
    from .region import flexible_union
    flexible = flexible_union(session.regions, session.size)
    comp = start.copy()
    comp[flexible] = img[flexible]
    lm = detect(comp, detector)
    return float(np.linalg.norm(lm[_idx(names)] - lm0[_idx(names)], axis=1).max())


def evaluate_seed(G, detector, seed, params_for_region, params_for_pair, steps, margin=3.0):
    """One seed's three region drags and the one-pair comparison: a dict of measurements and pass flags."""
    from ..synth.landmarks import detect
    from .drag import DragSession
    from .region import Affine, rect_mask
    size = (G.img_resolution, G.img_resolution)
    start = DragSession(G, seed=seed).render()
    lm0 = detect(start, detector)
    out = dict(seed=seed)

    # mouth moved down by 6 px
    box = landmark_box(lm0, MOUTH, margin, size)
    mouth_affine = Affine(move=(0.0, 6.0))
    img, last, sess = _edit(G, seed, params_for_region(), steps, region=(rect_mask(box, size), mouth_affine))
    lm = detect(img, detector)
    moved = lm[_idx(MOUTH)] - lm0[_idx(MOUTH)]
    err = np.linalg.norm(moved - (0.0, 6.0), axis=1)
    still = np.linalg.norm(lm[_idx(EYES + BROWS)] - lm0[_idx(EYES + BROWS)], axis=1)
    out["mouth"] = dict(moved=moved.round(2).tolist(), worst_error=float(err.max()), others_max=float(still.max()),
                        others_context=_context_move(detector, start, img, sess, lm0, EYES + BROWS),
                        iterations=last.iteration, passed=bool(err.max() <= 1.5 and still.max() < 1.0))
    region_err = float(err.mean())

    # one pair at the mouth region's centre, moved the same way
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    img, last, _ = _edit(G, seed, params_for_pair(), steps, pair=((cx, cy), (cx, cy + 6.0)))
    lm = detect(img, detector)
    base_err = float(np.linalg.norm(lm[_idx(MOUTH)] - lm0[_idx(MOUTH)] - (0.0, 6.0), axis=1).mean())
    closer = 1.0 - region_err / base_err if base_err > 1e-9 else 0.0
    out["one_pair"] = dict(region_error=region_err, pair_error=base_err, closer=closer, passed=bool(closer >= 0.3))

    # both eyes scaled by 1.3 about the region's centre
    box = landmark_box(lm0, EYES, margin, size)
    img, last, sess = _edit(G, seed, params_for_region(), steps,
                            region=(rect_mask(box, size), Affine(scale=(1.3, 1.3))))
    lm = detect(img, detector)
    growth = []
    for side in "lr":
        a, b = _idx((f"{side}_eye_outer", f"{side}_eye_inner"))
        growth.append(float(np.linalg.norm(lm[a] - lm[b]) / max(np.linalg.norm(lm0[a] - lm0[b]), 1e-6) - 1))
    still = np.linalg.norm(lm[_idx(MOUTH + NOSE)] - lm0[_idx(MOUTH + NOSE)], axis=1)
    out["eyes"] = dict(growth=growth, others_max=float(still.max()),
                       others_context=_context_move(detector, start, img, sess, lm0, MOUTH + NOSE),
                       iterations=last.iteration,
                       passed=bool(min(growth) >= 0.15 and still.max() < 1.0))

    # the head turned by 10 degrees
    box = landmark_box(lm0, HEAD, margin, size)
    img, last, _ = _edit(G, seed, params_for_region(), steps, region=(rect_mask(box, size), Affine(rotate=10.0)))
    lm = detect(img, detector)
    turned = _pupil_angle(lm) - _pupil_angle(lm0)
    turned = (turned + 180) % 360 - 180
    out["head"] = dict(turned=float(turned), iterations=last.iteration, passed=bool(abs(turned - 10) <= 3))
    return out


def _pupil_angle(lm):
    (lx, ly), (rx, ry) = lm[_idx(("l_pupil", "r_pupil"))]
    return math.degrees(math.atan2(ry - ly, rx - lx))


def summarize(rows) -> dict:
    def frac(key):
        return float(np.mean([r[key]["passed"] for r in rows]))
    return dict(seeds=len(rows), mouth_passed=frac("mouth"), eyes_passed=frac("eyes"), head_passed=frac("head"),
                one_pair_passed=frac("one_pair"),
                mean_closer=float(np.mean([r["one_pair"]["closer"] for r in rows])),
                mouth_worst_error_median=float(np.median([r["mouth"]["worst_error"] for r in rows])),
                mouth_others_max_median=float(np.median([r["mouth"]["others_max"] for r in rows])),
                eyes_growth_median=float(np.median([min(r["eyes"]["growth"]) for r in rows])),
                eyes_others_max_median=float(np.median([r["eyes"]["others_max"] for r in rows])),
                mouth_others_context_median=float(np.median([r["mouth"]["others_context"] for r in rows])),
                eyes_others_context_median=float(np.median([r["eyes"]["others_context"] for r in rows])),
                mouth_others_context_over_1px=float(np.mean([r["mouth"]["others_context"] >= 1.0 for r in rows])),
                eyes_others_context_over_1px=float(np.mean([r["eyes"]["others_context"] >= 1.0 for r in rows])),
                head_turn_median=float(np.median([r["head"]["turned"] for r in rows])))


def run(G, detector, seeds, steps, params_for_region=None, params_for_pair=None, log=None):
    """params_for_*: functions returning fresh DragParams (default: the region defaults for both, so the one
    pair differs from the region only in being one pair without a region's flexible area)."""
    from .drag import DragParams
    from .region import region_params
    log = log if log is not None else sys.stderr
    params_for_region = params_for_region or (lambda: region_params(DragParams()))
    params_for_pair = params_for_pair or (lambda: region_params(DragParams()))
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        rows.append(evaluate_seed(G, detector, seed, params_for_region, params_for_pair, steps))
        r = rows[-1]
        print(f"seed {seed}: mouth {'ok' if r['mouth']['passed'] else 'FAIL'} (worst {r['mouth']['worst_error']:.2f}, "
              f"others {r['mouth']['others_max']:.2f}, context {r['mouth']['others_context']:.2f}), eyes "
              f"{'ok' if r['eyes']['passed'] else 'FAIL'} (growth {min(r['eyes']['growth']):.1%}, others "
              f"{r['eyes']['others_max']:.2f}, context {r['eyes']['others_context']:.2f}), head "
              f"{'ok' if r['head']['passed'] else 'FAIL'} ({r['head']['turned']:.1f} deg), one pair: "
              f"{r['one_pair']['closer']:.0%} closer; {time.perf_counter() - t0:.0f} s", file=log, flush=True)
    return dict(rows=rows, summary=summarize(rows))


def main(argv=None) -> int:
    """python -m dragedit.edit.region_eval [--seeds 32] [--steps 100] [--threads 1] [--json FILE]"""
    import torch
    from ..io.checkpoint import load_generator
    from ..models import DEFAULT_GENERATOR
    from ..synth.landmarks import load_detector
    ap = argparse.ArgumentParser(description="region-drag acceptance checks on the shipped face model")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--first-seed", dest="first_seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every seed's measurements and the summary here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = run(load_generator(DEFAULT_GENERATOR), load_detector(None),
                 range(args.first_seed, args.first_seed + args.seeds), args.steps)
    result.update(steps=args.steps, threads=args.threads)
    print(json.dumps(result["summary"], indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
