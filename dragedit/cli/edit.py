"""`dragedit edit`: one drag edit without a window, with a JSON report and exported frames."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..edit.drag import DragParams, DragSession
from ..edit.latent_source import embedded_latent
from ..edit.run_edit import run_edit
from ..errors import DragEditError
from ..io.images import load_mask


def parse_pair(text: str):
    """'X,Y:X,Y' -> ((x, y), (x, y)) in pixels of the generator's image."""
    try:
        a, b = text.split(":")
        hx, hy = (float(v) for v in a.split(","))
        tx, ty = (float(v) for v in b.split(","))
    except ValueError:
        raise DragEditError(f"--pair {text!r}: expected HANDLE_X,HANDLE_Y:TARGET_X,TARGET_Y, e.g. 60,64:72,64") from None
    return (hx, hy), (tx, ty)


def main_edit(args) -> int:
    import torch
    from ..devices import resolve_device, resolve_precision
    from ..io.checkpoint import load_generator
    from ..io import export
    from ..models import resolve_model_path
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(getattr(args, "device", "auto"))
    precision = resolve_precision(getattr(args, "precision", "auto"), device)
    from . import semantic as semantic_cli
    from . import region as region_cli
    affine = region_cli.region_affine(args)
    semantic_only = not args.pair and affine is None and bool(
        getattr(args, "suggest", False) or getattr(args, "direction", None) or getattr(args, "factor", None))
    if not args.pair and not semantic_only and affine is None:
        raise DragEditError("give at least one --pair HANDLE_X,HANDLE_Y:TARGET_X,TARGET_Y, or a region "
                            "(--region, --region-mask or --region-part) with --move, --rotate or --scale")
    pairs = [parse_pair(p) for p in args.pair or []]
    if args.steps < 1:
        raise DragEditError(f"--steps must be at least 1, got {args.steps}")
    G = load_generator(resolve_model_path(args.model))
    size = (G.img_resolution, G.img_resolution)
    mask = load_mask(args.mask, size) if args.mask else None
    regions = [(region_cli.region_source(args, size), affine)] if affine is not None else []
    params = DragParams(space=args.space)
    for name in ("tracker", "lr", "lambda_mask", "r1", "r2", "stop_distance"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(params, name, value)
    if getattr(args, "stall_patience", None) is not None:
        if args.stall_patience < 0:
            raise DragEditError(f"--stall-patience must be 0 (never stop early) or more, got {args.stall_patience}")
        params.stall_patience = args.stall_patience or None
    if affine is not None and not args.pair:   # a region edit: its defaults where the user set nothing
        from ..edit.region import region_params
        params = region_params(params, **{n: getattr(args, n) for n in ("lambda_mask", "stop_distance", "lr")
                                           if getattr(args, n, None) is not None})
    ws = embedded_latent(G) if args.seed is None else None
    if args.latent:
        from ..io.latents import load_latent
        ws = load_latent(args.latent, expect=(G.num_ws, G.w_dim))
    seed = args.seed if args.seed is not None else 0
    ws = semantic_cli.prepare_start(G, ws, seed, params.truncation_psi, factors=getattr(args, "factor", None),
                                    directions=getattr(args, "direction", None))
    if semantic_only or getattr(args, "part_mask", None):
        mask = semantic_cli.part_mask_and_suggestions(DragSession(G, seed=seed, ws=ws, params=params), mask,
                                                      part_mask_text=getattr(args, "part_mask", None),
                                                      suggest=bool(getattr(args, "suggest", False)))
    if semantic_only:
        return _save_start(G, args, seed, ws, params, export)
    want_frames = bool(args.frames or args.video)

    def progress(res):
        d = ", ".join(f"{x:.1f}" for x in res.distances)
        print(f"\riter {res.iteration:4d}  loss {res.loss:.4f}  distance {d} px  "
              f"{res.timings.get('total_ms', 0):.0f} ms", end="", file=sys.stderr, flush=True)

    report, frames, session, last = run_edit(G, seed, pairs, steps=args.steps, params=params, mask=mask,
                                             mask_mode=args.mask_mode, keep_frames=want_frames,
                                             progress=None if args.quiet else progress, ws=ws,
                                             device=device, precision=precision, regions=regions)
    if not args.quiet:
        print(file=sys.stderr)
    report["model"] = str(args.model)
    if args.out:
        export.save_image(last.frame, args.out)
    if want_frames:
        if args.overlay:
            frames = [export.draw_points(f, h["handles"], report["targets"])
                      for f, h in zip(frames, session.history)]
        if args.frames:
            export.save_png_sequence(frames, args.frames)
        if args.video:
            export.save_video(frames, args.video, fps=args.fps)
    if args.save_latent:
        from ..io.latents import save_latent
        save_latent(args.save_latent, session.ws, seed=seed, model=str(args.model))
    status = "reached" if report["reached"] else "stopped: the handles got no closer" if report["stalled"] \
        else "not reached"
    dist = report["final_distance"]
    shown = ", ".join(f"{d:.2f}" for d in dist) if len(dist) <= 8 else \
        f"mean {np.mean(dist):.2f}, max {np.max(dist):.2f} over {len(dist)} pairs"
    print(f"{status} after {report['iterations']} iterations; final distance {shown} px; "
          f"median {np.median(report['iteration_ms']):.1f} ms/iteration", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


def _save_start(G, args, seed, ws, params, export) -> int:
    """No pairs: write the (semantically edited) start image and latent that --out/--save-latent ask for."""
    session = DragSession(G, seed=seed, ws=ws, params=params)
    if args.out:
        export.save_image(session.render(), args.out)
    if args.save_latent:
        from ..io.latents import save_latent
        save_latent(args.save_latent, session.ws, seed=seed, model=str(args.model))
    return 0
