"""Timing helpers and the generator benchmark behind `dragedit bench --generator`.

Speed is reported, never asserted: median and p95 over repeated runs, with
the machine written next to the numbers. On CUDA each run is timed with CUDA
events (the GPU's own clock, after a synchronize) and the peak memory is
reported; on MPS the device is synchronised around each run.
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np
import torch

from .. import devices
from ..nets.stylegan2 import Generator, count_params


def machine_info(device="cpu") -> str:
    """One line naming the CPU, core count, torch build and the device timed, for benchmark tables."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    dev = torch.device(device)
    name = "CPU" if dev.type == "cpu" else devices.describe_device(dev)
    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}, device {name}")


def summarize_ms(times_s) -> dict:
    ms = np.asarray(times_s, dtype=np.float64) * 1000.0
    return dict(median_ms=float(np.median(ms)), p95_ms=float(np.percentile(ms, 95)), runs=int(len(ms)))


def time_call(fn, repeats=10, warmup=2, sync=None, device=None) -> dict:
    """Median/p95 of fn(). device 'cuda': CUDA events around each call; another device: its
    synchronize after each call; `sync` (a callable) as before."""
    dev = torch.device(device) if device is not None else None
    for _ in range(warmup):
        fn()
    times = []
    if dev is not None and dev.type == "cuda":
        torch.cuda.synchronize(dev)
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000.0)
        return summarize_ms(times)
    if dev is not None and dev.type != "cpu":
        sync = sync or (lambda: devices.synchronize(dev))
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
    return summarize_ms(times)


def time_interleaved(fns: dict, repeats=10, warmup=1, device=None) -> dict:
    """`time_call` of several functions taking turns call by call, so that load that comes and goes
    on a shared machine falls on all of them alike: {name: median/p95}."""
    times = {k: [] for k in fns}
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(time_call(fn, 1, warmup=0, device=device)["median_ms"] / 1000.0)
    return {k: summarize_ms(v) for k, v in times.items()}


def reset_peak_memory(device):
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)


def peak_memory_mb(device):
    """torch.cuda.max_memory_allocated since the last reset, in MiB (None off CUDA)."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(dev) / 2 ** 20


def config_f_generator(resolution=512) -> Generator:
    """A randomly initialised generator shaped like NVIDIA's config-f (channel_base 32768, max 512)."""
    return Generator(512, 0, 512, resolution, 3,
                     synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256))


def feature_block_index(G) -> int:
    """The drag engine's feature block (StyleGAN2: the 128-px block, or the half-size one below
    128 px; StyleGAN3: see `stylegan3.SynthesisNetwork.default_feature_block`)."""
    return G.synthesis.default_feature_block()


def bench_generator(G, name, repeats=10, device="cpu", precision="fp32") -> dict:
    """Median/p95 of a full forward (no grad) and of forward+backward to the feature block."""
    device = torch.device(device)
    reset_peak_memory(device)
    G = G.to(device).eval().requires_grad_(False)
    devices.apply_precision(G, precision)
    z = torch.randn(1, G.z_dim)  # drawn on the CPU: the same latent on every device
    ws = G.mapping(z.to(device), torch.zeros(1, G.c_dim, device=device) if G.c_dim else None,
                   truncation_psi=0.7)
    stop = feature_block_index(G)
    blocks = G.synthesis.blocks()

    def forward():
        with torch.no_grad():
            G.synthesis(ws)

    def forward_backward():
        w = ws.detach().clone().requires_grad_(True)
        x = None
        for block, bw in zip(blocks[:stop + 1], G.synthesis.block_ws(w)):
            x = block.forward_features(x, bw)
        x.float().square().mean().backward()

    row = dict(model=name, resolution=G.img_resolution, params_m=count_params(G) / 1e6,
               feature_block=f"b{G.synthesis.block_resolutions[stop]}",
               forward=time_call(forward, repeats, device=device),
               forward_backward=time_call(forward_backward, repeats, device=device),
               device=devices.describe_device(device), precision=precision)
    row["peak_mb"] = peak_memory_mb(device)
    return row


def _peak(r) -> str:
    return f" | {r['peak_mb']:.0f}" if r.get("peak_mb") is not None else " | -"


def format_generator_table(rows, machine) -> str:
    lines = [f"Machine: {machine}", "",
             "| model | px | params (M) | precision | forward median / p95 (ms) | "
             "fwd+bwd to feature block median / p95 (ms) | peak GPU memory (MiB) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        f, fb = r["forward"], r["forward_backward"]
        lines.append(f"| {r['model']} | {r['resolution']} | {r['params_m']:.1f} | {r.get('precision', 'fp32')} | "
                     f"{f['median_ms']:.1f} / {f['p95_ms']:.1f} | "
                     f"{fb['median_ms']:.1f} / {fb['p95_ms']:.1f} ({r['feature_block']}){_peak(r)} |")
    return "\n".join(lines)


def conv_throughput(repeats=5, device="cpu") -> float:
    """GFLOP/s of one large 3x3 convolution: the machine's practical ceiling for our workload."""
    x = torch.randn(1, 256, 64, 64, device=device)
    w = torch.randn(256, 256, 3, 3, device=device)
    flops = 2 * 256 * 256 * 9 * 64 * 64
    t = time_call(lambda: torch.nn.functional.conv2d(x, w, padding=1), repeats, device=device)
    return flops / (t["median_ms"] / 1000) / 1e9


def _count_flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def straightforward_step(G, w, ws_rest, opt, handle, target, fb, r1=3, r2=12):
    """A plain DragGAN iteration as the reference code does it (the loop of `bench.draggan`, one pair):
    full synthesis with a graph, features resized to the image size, nearest-neighbour tracking and
    the motion loss on the resized map."""
    from .draggan import features_of, motion_loss, nearest
    img, feat = features_of(G, torch.cat([w, ws_rest], dim=1), fb)
    with torch.no_grad():   # tracked as the reference does every iteration (its cost is part of the step)
        x, y = int(handle[0]), int(handle[1])
        nearest(feat, feat[0, :, y, x], handle, r2)
    loss = motion_loss(feat, [handle], [target], r1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return img


def bench_drag_speed(G, name, repeats=5, device="cpu", precision="fp32") -> dict:
    """Our drag iteration (in `precision`) against the straightforward fp32 one on the same weights,
    in the same run. On a GPU the frame shown is the full-resolution one (preview 'full'): the
    low-res preview is a CPU economy. Peak memory (CUDA) is that of our iteration."""
    from ..edit.drag import DragParams, DragSession
    device = torch.device(device)
    G = G.eval().requires_grad_(False)
    h = G.img_resolution
    # a target far enough that no timed step finds it reached (a reached step skips the backward)
    handle, target = (h * 0.2, h * 0.5), (h * 0.8, h * 0.5)
    params = DragParams(preview="auto" if device.type == "cpu" else "full", stop_distance=0.5)
    s = DragSession(G, seed=0, device=device, precision=precision, params=params)
    s.add_pair(handle, target)
    fb = s.options()["feature_block"]
    s.step()  # first step takes references and decides on the preview
    reset_peak_memory(device)
    s.step()
    peak_mb = peak_memory_mb(device)
    w = s.ws[:, :6].clone().requires_grad_(True)
    rest = s.ws[:, 6:].clone()
    opt = torch.optim.Adam([w], lr=2e-3)

    def plain_step():
        return straightforward_step(G, w, rest, opt, handle, target, fb)

    def other_form():  # headless with the graph's convolutions in the other form (fused on the CPU)
        s._fused_graph = not s._fused_graph
        try:
            s.step(frame=False)
        finally:
            s._fused_graph = not s._fused_graph

    fns = dict(ours=s.step, headless=lambda: s.step(frame=False), other=other_form)
    if precision == "fp32":  # the straightforward reference runs as DragGAN does, in fp32: take turns
        fns["plain"] = plain_step
    t = time_interleaved(fns, repeats, device=device)
    ours, headless, other = t["ours"], t["headless"], t["other"]
    other["fused"] = not s._fused_graph
    ours_flops = _count_flops(s.step)
    devices.apply_precision(G, "fp32")
    plain = t["plain"] if "plain" in t else time_call(plain_step, repeats, warmup=1, device=device)
    plain_flops = _count_flops(plain_step)
    devices.apply_precision(G, precision)
    peak = conv_throughput(device=device)
    return dict(model=name, resolution=h, preview="low-res" if s.frames_low_res() else "full",
                ours=ours, straightforward=plain, speedup=plain["median_ms"] / ours["median_ms"],
                ours_headless=headless, speedup_headless=plain["median_ms"] / headless["median_ms"],
                ours_other_conv_form=other,
                ours_gflop=ours_flops / 1e9, straightforward_gflop=plain_flops / 1e9,
                ours_gflops_per_s=ours_flops / 1e9 / (ours["median_ms"] / 1000),
                conv_peak_gflops_per_s=peak, device=devices.describe_device(device), precision=precision,
                peak_mb=peak_mb)


def format_speed_table(rows, machine) -> str:
    lines = [f"Machine: {machine}", "",
             "| model | px | precision | frame while running | ours median / p95 (ms) | "
             "straightforward fp32 median / p95 (ms) | speed-up | "
             "GFLOP ours / straightforward | ours GFLOP/s (conv peak) | peak GPU memory (MiB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    headless = []
    for r in rows:
        ms = (lambda v: f"{v:.0f}") if r["ours"]["median_ms"] >= 20 else (lambda v: f"{v:.1f}")
        if "ours_headless" in r:
            h = r["ours_headless"]
            o = r["ours_other_conv_form"]
            headless.append(f"| {r['model']} | {ms(h['median_ms'])} / {ms(h['p95_ms'])} | "
                            f"{r['speedup_headless']:.2f}x | {'fused' if o['fused'] else 'unfused'}: "
                            f"{ms(o['median_ms'])} / {ms(o['p95_ms'])} |")
        lines.append(f"| {r['model']} | {r['resolution']} | {r.get('precision', 'fp32')} | {r['preview']} | "
                     f"{ms(r['ours']['median_ms'])} / {ms(r['ours']['p95_ms'])} | "
                     f"{ms(r['straightforward']['median_ms'])} / {ms(r['straightforward']['p95_ms'])} | "
                     f"{r['speedup']:.2f}x | {r['ours_gflop']:.1f} / "
                     f"{r['straightforward_gflop']:.1f} | {r['ours_gflops_per_s']:.0f} "
                     f"({r['conv_peak_gflops_per_s']:.0f})"
                     f"{_peak(r)} |")
    if headless:  # no frame rendered: a headless edit, or the window still painting the last frame
        lines += ["", "| model | ours without the frame median / p95 (ms) | speed-up | the same with the graph's "
                  "convolutions in the other form, median / p95 (ms) |", "|---|---|---|---|"] + headless
    return "\n".join(lines)
