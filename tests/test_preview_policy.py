"""Live previews: full size unless recent full renders are really too slow, and low-res ones smooth."""
import numpy as np
import pytest
import torch

from dragedit.edit import semantics
from dragedit.edit.preview_policy import PreviewPolicy


def feed(policy, key, res, times):
    """Render previews whose full renders take `times` ms in turn; the low/full choice of each."""
    lows = []
    for ms in times:
        low = policy.low_res(key, res)
        policy.record(key, ms / 3 if low else ms, low)
        lows.append(low)
    return lows


def test_a_128px_model_stays_full_size_while_a_full_render_is_under_100_ms():
    p = PreviewPolicy()
    # a loaded start: warm-up and three slow renders, then 49 ms each (the machine)
    lows = feed(p, "m", 128, [400, 180, 150, 120] + [49] * 20)
    assert not any(lows[-15:])
    assert not any(feed(p, "m", 128, [90, 95, 99] * 5))     # slower than 15/s, still under 100 ms


def test_a_slow_stretch_goes_low_res_and_comes_back_once_renders_are_fast_again():
    p = PreviewPolicy()
    lows = feed(p, "m", 128, [300] * 10)
    assert lows[:3] == [False] * 3 and sum(lows[3:]) >= 5     # decided after 3 timings, not before
    assert not all(lows[3:])                                   # full probes keep the timings current
    lows = feed(p, "m", 128, [40] * 40)
    assert not any(lows[-20:])


def test_one_slow_render_does_not_switch_and_big_models_use_the_frame_budget():
    p = PreviewPolicy()
    assert not any(feed(p, "small", 128, [40, 40, 500, 40, 40, 40, 600, 40]))
    assert any(feed(p, "big", 512, [80] * 10))                 # 80 ms > 1/15 s at 512 px
    assert not any(feed(PreviewPolicy(min_low_res_px=257), "d", 256, [300] * 10))  # drag frames: > 256 px only
    assert p.threshold_ms(128) >= 100 and p.threshold_ms(512) == pytest.approx(1000 / 15)


def test_timings_are_kept_per_model():
    p = PreviewPolicy()
    feed(p, "slow", 512, [300] * 5)
    assert p.slow("slow", 512) and not p.slow("other", 512)
    p.forget("slow")
    assert not p.slow("slow", 512)


def test_a_low_res_preview_is_full_size_and_smoothly_scaled():
    from dragedit.nets.stylegan2 import Generator
    torch.manual_seed(0)
    G = Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16})).eval()
    ws = G.mapping(torch.randn(1, 16), None)
    frame = semantics.preview_frame(G, ws, low_res=True)
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    f = frame.astype(np.int32)
    # nearest-neighbour scaling would repeat every pixel twice; smooth scaling makes neighbours differ
    assert (f[:, 0::2] != f[:, 1::2]).any(axis=2).mean() > 0.5
    assert (f[0::2] != f[1::2]).any(axis=2).mean() > 0.5
