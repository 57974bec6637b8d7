"""Low-resolution frames during a run follow the recent timings, never a decision made once."""
import torch

from dragedit.edit.drag import DragSession
from dragedit.nets.stylegan2 import Generator


def _session(res):
    torch.manual_seed(0)
    channels = {r: 8 for r in (4, 8, 16, 32, 64, 128, 256, 512) if r <= res}
    G = Generator(8, 0, 16, res, 3, mapping_kwargs=dict(num_layers=1),
                  synthesis_kwargs=dict(channels=channels)).eval()
    return DragSession(G, seed=0)


def test_a_big_models_frames_go_low_res_while_slow_and_come_back_when_fast():
    s = _session(512)
    policy = s._frame_policy
    assert not s.frames_low_res()                      # no timings yet: full frames
    for _ in range(5):
        policy.record("tail", 400.0, False)            # a loaded start: the tail blocks take 0.4 s
    assert s.frames_low_res()
    policy.record("tail", 0.0, True)
    policy.record("tail", 0.0, True)
    policy.record("tail", 0.0, True)
    assert not s.frames_low_res()                      # every 4th frame is full, to time it again
    for _ in range(3):
        policy.record("tail", 30.0, False)             # the machine is quiet again
    assert not s.frames_low_res()


def test_models_up_to_256_px_never_drop_their_run_frames_to_low_res():
    s = _session(256)
    for _ in range(5):
        s._frame_policy.record("tail", 5000.0, False)
    assert not s.frames_low_res()


def test_a_run_times_its_full_frames():
    s = _session(64)
    s.add_pair((20, 20), (24, 20))
    for _ in s.run(3):
        pass
    assert len(s._frame_policy._full.get("tail", ())) == 3
