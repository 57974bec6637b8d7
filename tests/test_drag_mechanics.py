"""DragSession mechanics on a small random generator: what a user relies on besides the drag itself
(undo is exact, bad input is refused clearly, edits between steps are honoured)."""
import numpy as np
import pytest
import torch

from dragedit.edit.drag import DragParams, DragSession
from dragedit.errors import DragEditError
from dragedit.nets.stylegan2 import Generator



@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16}))


def test_restore_after_run_gives_back_the_exact_start(G):
    s = DragSession(G, seed=3)
    s.add_pair((20, 30), (30, 30))
    start = s.render()
    snap = s.snapshot()
    results = list(s.run(5))
    assert len(results) == 5 and results[-1].done
    assert not np.array_equal(s.render(), start)  # the latent did change
    s.restore(snap)
    assert np.array_equal(s.render(), start)
    assert [p.handle for p in s.pairs] == [(20.0, 30.0)]


def test_step_result_fields(G):
    s = DragSession(G, seed=1)
    s.add_pair((10, 10), (20, 12))
    r = s.step()
    assert r.frame.shape == (64, 64, 3) and r.frame.dtype == np.uint8
    assert r.iteration == 1 and len(r.handles) == len(r.targets) == len(r.distances) == 1
    assert r.distances[0] == pytest.approx(np.hypot(10, 2), abs=1e-6)
    assert {"forward_ms", "track_ms", "backward_ms", "total_ms"} <= set(r.timings)
    assert np.isfinite(r.loss)


@pytest.mark.parametrize("handle,target,match", [((-1, 5), (5, 5), "outside"), ((5, 5), (64, 5), "outside"),
                                                 ((5, 5), (5, 5), "equals its handle"),
                                                 ((float("nan"), 5), (5, 5), "outside"),
                                                 ("ab", (5, 5), "point")])
def test_bad_points_are_refused(G, handle, target, match):
    s = DragSession(G, seed=0)
    with pytest.raises(DragEditError, match=match):
        s.add_pair(handle, target)
    assert s.pairs == []


def test_no_pairs_at_start_is_a_clear_error(G):
    s = DragSession(G, seed=0)
    with pytest.raises(DragEditError, match="no point pairs"):
        s.step()


def test_mask_of_wrong_size_is_refused(G):
    s = DragSession(G, seed=0)
    with pytest.raises(DragEditError, match="64x64"):
        s.set_mask(np.zeros((32, 32), bool))
    with pytest.raises(DragEditError, match="mode"):
        s.set_mask(np.zeros((64, 64), bool), mode="sticky")


def test_bad_params_are_refused(G):
    with pytest.raises(DragEditError, match="tracker"):
        DragSession(G, params=DragParams(tracker="psychic"))
    with pytest.raises(DragEditError, match="space"):
        DragSession(G, params=DragParams(space="z"))
    with pytest.raises(DragEditError, match="lr"):
        DragSession(G, params=DragParams(lr=float("nan")))
    with pytest.raises(DragEditError, match="stall_patience"):
        DragSession(G, params=DragParams(stall_patience=0))


def test_wrong_latent_shape_is_refused(G):
    with pytest.raises(DragEditError, match="expected"):
        DragSession(G, ws=torch.zeros(1, 3, 7))


def test_user_move_between_steps_wins_over_tracking(G):
    s = DragSession(G, seed=2)
    s.add_pair((20, 20), (40, 20))
    s.step()
    s.move_handle(0, (25, 33))
    s.move_target(0, (26, 50))
    r = s.step()
    # the moved handle is taken as is (its reference feature re-taken there), then tracked from there
    assert r.handles[0] == (25.0, 33.0)
    assert r.targets[0] == (26.0, 50.0)


def test_non_finite_loss_restores_last_good_latent(G, monkeypatch):
    s = DragSession(G, seed=4)
    s.add_pair((20, 20), (40, 20))
    s.step()
    s.step()
    good = s.ws.clone()
    monkeypatch.setattr(s, "_motion_loss", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True))
    r = s.step()
    assert r.done and not r.reached and "non-finite" in r.message
    assert torch.equal(s.ws, good)


def test_w_space_shares_one_vector_across_optimised_layers(G):
    s = DragSession(G, seed=5, params=DragParams(space="w", num_layers=4))
    s.add_pair((20, 20), (40, 20))
    for _ in range(3):
        s.step()
    head = s.ws[0, :4]
    assert torch.allclose(head, head[0:1].expand_as(head))
    assert torch.equal(s.ws[0, 4:], s.ws_initial[0, 4:])


def test_fixed_mask_keeps_masked_region_closer(G):
    def change(mask):
        s = DragSession(G, seed=6, params=DragParams(lr=5e-3))
        s.add_pair((16, 32), (30, 32))
        if mask is not None:
            s.set_mask(mask, "flexible")
        before = s.render().astype(float)
        for _ in s.run(8):
            pass
        after = s.render().astype(float)
        return np.abs(after - before)[:, 44:].mean()

    editable = np.zeros((64, 64), bool)
    editable[:, :40] = True  # only the left part may change
    assert change(editable) < change(None)


@pytest.mark.parametrize("name", ["nn", "motion"])
def test_tracking_many_handles_at_once_matches_one_at_a_time(name):
    """The batched lookup (one grid_sample for every window) must pick what per-handle tracking
    picks, including windows cut by the image border."""
    import random
    from dragedit.edit import tracking
    torch.manual_seed(0)
    rnd = random.Random(1)
    feat = torch.randn(1, 16, 24, 24)
    pts = [(rnd.uniform(-0.4, 23.4), rnd.uniform(-0.4, 23.4)) for _ in range(60)] + [(0, 0), (23, 23), (0, 23)]
    refs = [torch.randn(16) for _ in pts]
    one = {"nn": tracking.track_nn, "motion": tracking.track_motion}[name]
    many = tracking.track_many(name, feat, refs, pts, 4, (32, 24))
    for (mx, my), r, p in zip(many, refs, pts):
        sx, sy = one(feat, r, p, 4, (32, 24))
        assert abs(mx - sx) < 1e-4 and abs(my - sy) < 1e-4


def test_motion_tracker_does_not_jump_to_a_look_alike():
    """A second, slightly better-matching copy of the handle's feature 3 px away (the other eye,
    the other mouth corner): the reference nn search snaps onto it, the motion tracker stays."""
    from dragedit.edit import tracking
    torch.manual_seed(0)
    feat = torch.randn(1, 8, 32, 32) * 0.5
    ref = torch.ones(8) * 2
    feat[0, :, 16, 16] = ref + 0.15 * torch.randn(8)   # the handle, as the edit changed it a little
    feat[0, :, 16, 19] = ref                           # a look-alike 3 px to the right
    handle = (16.0, 16.0)
    assert tracking.track("nn", feat, ref, handle, 4, (32, 32)) == (19.0, 16.0)
    x, y = tracking.track("motion", feat, ref, handle, 4, (32, 32))
    assert abs(x - 16) <= 0.5 and abs(y - 16) <= 0.5


def test_patch_tracker_does_not_jump_to_a_look_alike():
    """The same with the patch tracker's 3x3 template: the look-alike 3 px away copies the handle's
    whole neighbourhood exactly, the handle's own neighbourhood changed a little."""
    from dragedit.edit import tracking
    torch.manual_seed(0)
    feat0 = torch.randn(1, 8, 32, 32)
    ref = tracking.reference(feat0, (16.0, 16.0), (32, 32))
    feat = feat0 + 0.1 * torch.randn_like(feat0)
    feat[0, :, 15:18, 18:21] = feat0[0, :, 15:18, 15:18]
    assert tracking.track("nn", feat, ref, (16.0, 16.0), 4, (32, 32)) == (19.0, 16.0)
    x, y = tracking.track("patch", feat, ref, (16.0, 16.0), 4, (32, 32))
    assert abs(x - 16) <= 0.5 and abs(y - 16) <= 0.5


def test_tracker_can_change_during_a_run(G):
    s = DragSession(G, seed=4, params=DragParams(tracker="nn"))
    s.add_pair((20, 30), (28, 30))
    s.add_pair((40, 20), (40, 28))
    s.step()
    for name in ("patch", "motion", "nn", "patch"):
        s.params.tracker = name
        res = s.step()
        assert len(res.handles) == 2 and all(np.isfinite(res.handles).ravel())
    s.move_handle(0, (21, 31))  # a new reference taken under the patch tracker
    s.params.tracker = "nn"
    s.step()


def test_patch_distances_match_a_direct_template_comparison():
    """The patch tracker's one-lookup distances equal comparing the 3x3 template cell by cell,
    windows cut by the image border included."""
    from dragedit.edit import tracking
    torch.manual_seed(1)
    size = (64, 64)
    feat = torch.randn(1, 6, 32, 32)
    handles = [(10.3, 20.7), (0.0, 0.0), (63.0, 40.2)]
    refs = [torch.randn(6, 9) for _ in handles]
    xs, ys, _ = tracking._window_grid(handles, 3, size)
    fast = tracking._batched_distances(feat, refs, xs, ys, size, template=True)
    offs = tracking.patch_offsets(size)
    for i, ref in enumerate(refs):
        for r in range(xs.shape[1]):
            for c in range(xs.shape[2]):
                x, y = float(xs[i, r, c]), float(ys[i, r, c])
                cells = tracking.sample_points(feat, torch.tensor([x + dx for dx, _ in offs]),
                                               torch.tensor([y + dy for _, dy in offs]), size)
                assert abs(float((cells - ref).square().sum().sqrt()) - float(fast[i, r, c])) < 1e-4


def _motion_loss_pair_by_pair(feat, handles, targets, r1, size):
    """DESIGN's motion supervision written out one pair at a time, as the reference does it."""
    import math
    import torch.nn.functional as F
    from dragedit.edit.tracking import sample_points
    h, w = size
    terms = []
    for (hx, hy), (tx, ty) in zip(handles, targets):
        norm = math.hypot(tx - hx, ty - hy)
        if norm <= 1:
            continue
        xs, ys = [], []
        for y in range(h):
            for x in range(w):
                if (x - hx) ** 2 + (y - hy) ** 2 < r1 * r1:
                    xs.append(x)
                    ys.append(y)
        xs, ys = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys, dtype=torch.float32)
        src = sample_points(feat, xs, ys, size).detach()
        moved = sample_points(feat, xs + (tx - hx) / norm, ys + (ty - hy) / norm, size)
        terms.append(F.l1_loss(moved, src))
    return terms


@pytest.mark.parametrize("r1", [2, 3.5])
def test_motion_loss_of_all_pairs_at_once_matches_pair_by_pair(G, r1):
    s = DragSession(G, seed=0)
    torch.manual_seed(1)
    feat = torch.randn(1, 8, 32, 32, requires_grad=True)
    handles = [(10.3, 20.0), (0.0, 0.4), (63.0, 63.0), (30.0, 30.0), (40.2, 5.7)]
    targets = [(20.0, 20.0), (3.0, 7.0), (55.0, 60.0), (30.5, 30.0), (41.0, 20.0)]  # the 4th is within 1 px
    batched = s._motion_loss(feat, handles, targets, r1)
    terms = _motion_loss_pair_by_pair(feat, handles, targets, r1, s.size)
    assert len(terms) == 4
    reference = sum(terms)
    assert batched.item() == pytest.approx(reference.item(), rel=1e-5)
    g1, = torch.autograd.grad(batched, feat)
    g2, = torch.autograd.grad(reference, feat)
    assert torch.allclose(g1, g2, atol=1e-7)


def test_a_run_whose_handles_stop_moving_ends_by_itself(G):
    # lr 0: the latent never changes, so the handle can never get closer
    s = DragSession(G, seed=2, params=DragParams(lr=0.0, stall_patience=4))
    s.add_pair((20, 20), (40, 20))
    results = list(s.run(50))
    last = results[-1]
    assert last.done and last.stalled and not last.reached
    assert len(results) == 5  # the first step sets the mark, four more without progress end it
    assert not any(r.stalled for r in results[:-1])


def test_moving_a_point_restarts_the_stall_count(G):
    s = DragSession(G, seed=2, params=DragParams(lr=0.0, stall_patience=3))
    s.add_pair((20, 20), (40, 20))
    for _ in range(3):
        assert not s.step().done
    s.move_target(0, (40, 30))  # the user drags the target on: not a stall
    assert not s.step().done
    assert not s.step().done
    assert s.step().done is False and s.step().stalled
