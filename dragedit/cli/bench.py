"""`dragedit bench`: the generator timings (--generator), our drag iteration against a straightforward one
(--speed), the warp preview (--warp), or by default DragGAN's face-landmark benchmark."""
from __future__ import annotations

import json
import sys

from ..errors import DragEditError
from .options import device_and_precision


def _bench_models(args):
    """(name, generator factory, repeats) of the models a --generator / --speed bench times."""
    import torch
    from ..bench import generator as bench
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    def config_f(resolution):
        torch.manual_seed(0)
        return bench.config_f_generator(resolution)

    path = resolve_model_path(args.model)
    models = [(path.name, lambda: load_generator(path), args.repeats)]
    few = max(3, args.repeats // 2)
    if args.big:
        models.append(("random config-f 512", lambda: config_f(512), few))
    if args.big1024:
        models.append(("random config-f 1024", lambda: config_f(1024), few))
    return models


def cmd_bench(args):
    import torch
    from ..bench import generator as bench
    from ..devices import describe_device
    if args.threads:
        torch.set_num_threads(args.threads)
    device, precision = device_and_precision(args)
    print(f"device: {describe_device(device)}, precision {precision}", file=sys.stderr)
    if args.speed:
        return _bench_speed(args, device, precision)
    if getattr(args, "warp", False):
        return _bench_warp(args)
    if getattr(args, "auto_mask", False):
        return _bench_auto_mask(args)
    if not args.generator:
        return _bench_drag(args, device, precision)
    rows = []
    for name, make, repeats in _bench_models(args):
        rows.append(bench.bench_generator(make(), name, repeats=repeats, device=device, precision=precision))
        print(bench.format_generator_table(rows[-1:], bench.machine_info(device)), file=sys.stderr)
    table = bench.format_generator_table(rows, bench.machine_info(device))
    print(table)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(dict(machine=bench.machine_info(device), rows=rows), fh, indent=2)
    return 0


def _bench_speed(args, device, precision):
    from ..bench import generator as bench
    rows = [bench.bench_drag_speed(make(), name, repeats=repeats, device=device, precision=precision)
            for name, make, repeats in _bench_models(args)]
    print(bench.format_speed_table(rows, bench.machine_info(device)))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(dict(machine=bench.machine_info(device), rows=rows), fh, indent=2)
    return 0


def _bench_warp(args):
    from ..bench import generator as bench
    from ..bench import warp as bench_warp
    threads = args.threads or 1
    rows = bench_warp.bench_warp(repeats=max(args.repeats, 100), threads=threads)
    print(bench_warp.format_warp_table(rows, bench.machine_info(), threads))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(dict(machine=bench.machine_info(), threads=threads, rows=rows), fh, indent=2)
    return 0


def _bench_auto_mask(args):
    from ..bench import auto_mask as bench_auto_mask
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    from ..synth.landmarks import load_detector
    G = load_generator(resolve_model_path(args.model))
    result = bench_auto_mask.run(G, load_detector(args.detector), pairs=args.pairs, steps=args.steps)
    print(bench_auto_mask.format_table(result))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


def _bench_drag(args, device, precision):
    from ..bench import drag as bench_drag
    from ..nets.perceptual import PerceptualLoss
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    from ..synth.landmarks import load_detector
    G = load_generator(resolve_model_path(args.model))
    try:
        detector = load_detector(args.detector)
    except (OSError, ValueError) as exc:
        raise DragEditError(f"cannot load the landmark detector: {exc}") from None
    if G.img_resolution != detector.img_size:
        raise DragEditError(f"the landmark benchmark needs a {detector.img_size}-px face model like the default; "
                            f"this model is {G.img_resolution} px")
    perceptual = PerceptualLoss(args.lpips_weights, quiet=True)
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    result = bench_drag.run_benchmark(G, detector, pairs=args.pairs, steps=args.steps, trackers=trackers,
                                      perceptual=perceptual if perceptual.lpips is not None else None,
                                      device=device, precision=precision)
    bench_drag.write_results(result, args.json_out or "bench_results.json", args.md_out)
    print(bench_drag.format_table(result))
    return 0
