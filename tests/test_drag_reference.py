"""The drag checked against what it promises, on the shipped model: a fixed mask holds the painted area,
the tracker stays inside its search radius, and the fast iteration gives what a straightforward
DragGAN iteration (full graph, features resized to the image, nearest-neighbour tracking) gives."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dragedit
from dragedit.bench.generator import straightforward_step
from dragedit.edit.drag import DragParams, DragSession
from dragedit.imaging import to_uint8
from dragedit.models import DEFAULT_DETECTOR, DEFAULT_GENERATOR
from dragedit.synth import faces
from dragedit.synth.landmarks import detect, load_detector

L = faces.LANDMARK_INDEX
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def G():
    return dragedit.load_generator(DEFAULT_GENERATOR)


def test_fixed_mode_keeps_the_painted_area_while_the_handle_moves(G):
    """Everything but a disc around the nose is painted and 'fixed': the painted pixels stay within a
    few grey levels, and the nose still moves toward its target (the detector, not the tracker, says
    so). Treating 'fixed' as 'flexible' holds the disc instead and the nose stays where it was."""
    detector = load_detector(DEFAULT_DETECTOR)
    s = DragSession(G, seed=7)
    start = s.render()
    nose = detect(start, detector)[L["nose_tip"]]
    target = nose + np.array([10.0, 0.0])
    s.add_pair(tuple(nose), tuple(target))
    ys, xs = np.mgrid[0:128, 0:128]
    painted = (xs - nose[0] - 5) ** 2 + (ys - nose[1]) ** 2 > 28 ** 2
    s.set_mask(painted, "fixed")
    for _ in s.run(50):
        pass
    final = s.render()
    change = np.abs(final.astype(float) - start.astype(float))[painted]
    moved = detect(final, detector)[L["nose_tip"]][0] - nose[0]
    print(f"painted area: mean change {change.mean():.2f}, p99 {np.percentile(change, 99):.0f}; "
          f"nose moved {moved:.1f} px")
    assert change.mean() < 1.5 and np.percentile(change, 99) <= 10
    assert moved >= 2.5


@pytest.mark.parametrize("tracker", ["nn", "motion", "patch"])
def test_the_tracker_does_not_jump_to_a_look_alike_outside_its_radius(G, tracker, monkeypatch):
    """After the first iteration the handle's 5x5 neighbourhood is copied 9 px to its right and its
    own is disturbed: the copy matches better, but it lies outside the default search radius
    (4 px on a 128-px model, DragGAN's 12 px at 512), so the handle must stay near where it was."""
    s = DragSession(G, seed=3, params=DragParams(tracker=tracker))
    handle = (50.0, 70.0)
    s.add_pair(handle, (58.0, 70.0))
    forward = s._forward
    calls = []

    def with_a_look_alike(ws, fb, **kw):
        feat, img = forward(ws, fb, **kw)
        calls.append(1)
        if len(calls) == 1:
            return feat, img
        x, y = int(handle[0]), int(handle[1])
        f = feat.detach()
        delta = torch.zeros_like(f)
        near, far = (slice(y - 2, y + 3), slice(x - 2, x + 3)), (slice(y - 2, y + 3), slice(x + 7, x + 12))
        delta[0, :, far[0], far[1]] = f[0, :, near[0], near[1]] - f[0, :, far[0], far[1]]
        noise = torch.randn(f.shape[1], 5, 5, generator=torch.Generator().manual_seed(0))
        delta[0, :, near[0], near[1]] = 2 * f.std() * noise
        return feat + delta, img

    monkeypatch.setattr(s, "_forward", with_a_look_alike)
    s.step()                      # takes the reference
    res = s.step()                # tracks on the features with the look-alike
    (x, y), = res.handles
    assert abs(x - handle[0]) <= 4 and abs(y - handle[1]) <= 4, res.handles


def _reference_track(feat, ref, handle, r2):
    """DragGAN's tracking written out: the integer pixel of smallest L2 distance to ref in the window."""
    x, y = int(round(handle[0])), int(round(handle[1]))
    h, w = feat.shape[-2:]
    x0, y0 = max(x - r2, 0), max(y - r2, 0)
    win = feat[0, :, y0:min(y + r2 + 1, h), x0:min(x + r2 + 1, w)]
    idx = int((win - ref.reshape(-1, 1, 1)).square().sum(0).argmin())
    return (float(x0 + idx % win.shape[-1]), float(y0 + idx // win.shape[-1]))


def test_the_fast_iteration_matches_a_straightforward_one(G):
    """Six iterations of DragSession (nn tracker, the full frame rendered) against a straightforward
    iteration on the same weights: the whole synthesis with a graph, the features resized to the image
    (a no-op on this model, whose feature block is full size), the loss on that map and Adam, with the
    tracking written out here. Frames, tracked handles and latents must agree."""
    s = DragSession(G, seed=3, params=DragParams(tracker="nn", preview="full"))
    handle, target = (60.0, 70.0), (68.0, 74.0)
    s.add_pair(handle, target)
    o = s.options()
    ws0 = s.ws.clone()
    w = ws0[:, :6].clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=o["lr"])
    ref = None
    for i in range(6):
        res = s.step()
        with torch.no_grad():
            _, feats = G.synthesis(torch.cat([w, ws0[:, 6:]], dim=1), return_features=True)
            feat = F.interpolate(feats[o["feature_block"]].float(), size=(128, 128), mode="bilinear",
                                 align_corners=False)
        if ref is None:
            ref = feat[0, :, int(handle[1]), int(handle[0])]
        else:
            handle = _reference_track(feat, ref, handle, o["r2"])
        assert res.handles == [handle], f"iteration {i}"
        img = straightforward_step(G, w, ws0[:, 6:], opt, handle, target, o["feature_block"], r1=o["r1"], r2=o["r2"])
        assert np.abs(res.frame.astype(int) - to_uint8(img).astype(int)).max() <= 1, f"iteration {i}"
        assert torch.allclose(s.ws[:, :6], w.detach(), atol=1e-5), f"iteration {i}"
        assert torch.equal(s.ws[:, 6:], ws0[:, 6:])


def test_a_single_pair_takes_the_larger_step_and_more_pairs_the_usual_one(G):
    from dragedit.edit.drag_defaults import SINGLE_PAIR_LR, SMALL_MODEL_LR
    s = DragSession(G, seed=1)
    s.add_pair((60, 70), (66, 70))
    assert s.learning_rate() == SINGLE_PAIR_LR == s.options()["lr"]
    s.step()
    assert s._run["opt"].param_groups[0]["lr"] == SINGLE_PAIR_LR
    s.add_pair((40, 50), (44, 50))
    assert s.learning_rate() == SMALL_MODEL_LR
    s.params.lr = 1e-3
    assert s.learning_rate() == 1e-3


def test_a_headless_run_renders_only_its_last_frame_and_edits_the_same(G):
    """run(frames=False) skips the no-grad render of every iteration but the last; with the graph in
    the same form the edit (handles, latent) is exactly the one a run that renders every frame makes."""
    results = {}
    for frames in (True, False):
        s = DragSession(G, seed=2, params=DragParams(preview="full"))
        s._fused_graph = True  # the form a shown frame uses: only the skipped render differs
        s.add_pair((60, 70), (70, 70))
        out = list(s.run(6, frames=frames))
        results[frames] = (out, s)
    shown, headless = results[True][0], results[False][0]
    assert all(r.frame is not None for r in shown)
    assert all(r.frame is None for r in headless[:-1])
    assert [r.handles for r in shown] == [r.handles for r in headless]
    assert torch.equal(results[True][1].ws, results[False][1].ws)
    assert np.array_equal(headless[-1].frame, results[False][1].render())
    assert np.array_equal(headless[-1].frame, shown[-1].frame)


def test_the_headless_steps_unfused_graph_gives_the_fused_gradient(G):
    """A headless CPU step runs the graph's convolutions unfused (no weight gradients in the backward);
    its loss and gradient equal those of the fused graph a shown step uses, to float rounding."""
    grads, losses = [], []
    for frame in (True, False):
        s = DragSession(G, seed=2)
        s.add_pair((60, 70), (70, 70))
        res = s.step(frame=frame)
        grads.append(s._run["w"].grad.clone())
        losses.append(res.loss)
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-7)
    assert F.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0) > 0.99999


def test_a_headless_run_that_reaches_its_target_ends_with_its_frame(G):
    s = DragSession(G, seed=2)
    s.add_pair((60, 70), (63, 70))
    out = list(s.run(100, frames=False))
    assert out[-1].reached and len(out) < 100
    assert out[-1].frame is not None and np.array_equal(out[-1].frame, s.render())
