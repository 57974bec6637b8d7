"""Timing helpers and the generator benchmark behind `dragedit bench --generator`.

Speed is reported, never asserted: median and p95 over repeated runs, with
the machine written next to the numbers.
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np
import torch

from .nets.stylegan2 import Generator, count_params


def machine_info() -> str:
    """One line naming the CPU, core count and torch build, for benchmark tables."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    device = "CPU"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}, device {device}")


def summarize_ms(times_s) -> dict:
    ms = np.asarray(times_s, dtype=np.float64) * 1000.0
    return dict(median_ms=float(np.median(ms)), p95_ms=float(np.percentile(ms, 95)), runs=int(len(ms)))


def time_call(fn, repeats=10, warmup=2, sync=None) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
    return summarize_ms(times)


def config_f_generator(resolution=512) -> Generator:
    """A randomly initialised generator shaped like NVIDIA's config-f (channel_base 32768, max 512)."""
    return Generator(512, 0, 512, resolution, 3,
                     synthesis_kwargs=dict(channel_base=32768, channel_max=512, conv_clamp=256))


def feature_block_index(G) -> int:
    """DESIGN: the 128-px block (the 6th) for models of 128 px or more, else the half-size block."""
    res = 128 if G.img_resolution >= 128 else G.img_resolution // 2
    return G.synthesis.block_resolutions.index(max(res, 4))


def bench_generator(G, name, repeats=10, device="cpu") -> dict:
    """Median/p95 of a full forward (no grad) and of forward+backward to the feature block."""
    G = G.to(device).eval().requires_grad_(False)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    ws = G.mapping(torch.randn(1, G.z_dim, device=device),
                   torch.zeros(1, G.c_dim, device=device) if G.c_dim else None, truncation_psi=0.7)
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
        x.square().mean().backward()

    return dict(model=name, resolution=G.img_resolution, params_m=count_params(G) / 1e6,
                feature_block=f"b{G.synthesis.block_resolutions[stop]}",
                forward=time_call(forward, repeats, sync=sync),
                forward_backward=time_call(forward_backward, repeats, sync=sync))


def format_generator_table(rows, machine) -> str:
    lines = [f"Machine: {machine}", "",
             "| model | px | params (M) | forward median / p95 (ms) | fwd+bwd to feature block median / p95 (ms) |",
             "|---|---|---|---|---|"]
    for r in rows:
        f, fb = r["forward"], r["forward_backward"]
        lines.append(f"| {r['model']} | {r['resolution']} | {r['params_m']:.1f} | "
                     f"{f['median_ms']:.1f} / {f['p95_ms']:.1f} | "
                     f"{fb['median_ms']:.1f} / {fb['p95_ms']:.1f} ({r['feature_block']}) |")
    return "\n".join(lines)
