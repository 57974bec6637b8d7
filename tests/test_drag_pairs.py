"""How many pairs share the pull (DragParams near / pair_weight / hold / reset_jump): a pair that has
arrived stops pulling and is held while the others go on, an Adam reset after a tracker jump, and the
bench's variant specs. The defaults stay DragGAN's (tests/test_drag_reference.py)."""
import math

import pytest
import torch

from dragedit.bench.drag import parse_method
from dragedit.edit import tracking
from dragedit.edit.drag import DragParams, DragSession
from dragedit.errors import DragEditError
from dragedit.nets.stylegan2 import Generator

pytestmark = pytest.mark.usefixtures("one_thread")

NEAR = ((30.0, 30.0), (31.5, 30.0))   # 1.5 px from its target: DragGAN still pulls it
FAR = ((12.0, 40.0), (22.0, 40.0))


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16}))


def _session(G, pairs=(NEAR, FAR), **params):
    s = DragSession(G, seed=4, params=DragParams(stop_distance=0.5, **params))
    for hd, tg in pairs:
        s.add_pair(hd, tg)
    return s


def _first_loss(G, pairs, **params):
    return _session(G, pairs, **params).step().loss


def test_a_pair_within_hold_stops_pulling_and_the_far_one_goes_on(G):
    """The first step's loss with hold=2 is the far pair's alone (the near pair arrived: it adds no
    motion term, and its hold term is zero on arrival); without hold both pull."""
    both = _first_loss(G, (NEAR, FAR))
    far_only = _first_loss(G, (FAR,))
    near_only = _first_loss(G, (NEAR,))
    assert near_only > 0 and both == pytest.approx(near_only + far_only, rel=1e-5)
    assert _first_loss(G, (NEAR, FAR), hold=2.0) == pytest.approx(far_only, rel=1e-5)


def test_a_held_pair_keeps_the_features_around_it(G):
    """While the far pair is dragged for 15 steps, the features on the held pair's disc change less than
    when nothing holds them (the default: a pair within 1 px adds nothing and is carried along)."""
    def change(**params):
        s = _session(G, (((30.0, 30.0), (30.6, 30.0)), FAR), **params)
        f0 = s.features()
        xs, ys = torch.meshgrid(torch.arange(27, 34), torch.arange(27, 34), indexing="xy")
        for _ in range(15):
            s.step(frame=False)
        f1 = s.features()
        assert math.dist(s.pairs[1].handle, FAR[0]) > 0.1  # the far pair did move
        return float((tracking.sample_points(f1, xs, ys, s.size)
                      - tracking.sample_points(f0, xs, ys, s.size)).abs().mean())

    free, held = change(), change(hold=1.0)
    assert held < 0.7 * free, (held, free)


def test_a_held_pair_is_let_go_when_the_user_moves_its_target(G):
    s = _session(G, hold=2.0)
    s.step(frame=False)
    assert set(s._run["held"]) == {id(s.pairs[0])}
    s.move_target(0, (45.0, 30.0))
    s.step(frame=False)
    assert s._run["held"] == {}


def test_spring_pulls_a_pair_within_one_pixel(G):
    """A pair 0.6 px from its target: DragGAN's loss is 0 and the latent stays; 'spring' pulls it."""
    pair = ((30.0, 30.0), (30.6, 30.0))
    off = _session(G, (pair,))
    start = off.ws.clone()
    assert off.step().loss == 0 and torch.equal(off.ws, start)
    spring = _session(G, (pair,), near="spring")
    assert spring.step().loss > 0 and not torch.equal(spring.ws, start)


def test_distance_weights_pull_the_far_pair_harder(G):
    """pair_weight='distance': each pair's term times its distance over the mean distance."""
    d_near, d_far = 1.5, 10.0
    near_only, far_only = _first_loss(G, (NEAR,)), _first_loss(G, (FAR,))
    mean = (d_near + d_far) / 2
    expected = near_only * d_near / mean + far_only * d_far / mean
    assert _first_loss(G, (NEAR, FAR), pair_weight="distance") == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("defer", [False, True])
def test_adam_restarts_after_a_tracker_jump(G, defer):
    """reset_jump: a step after a handle moved farther than it is a fresh Adam step (every optimised
    coordinate moves by exactly lr), not one carried on by the old moments; without it the third step
    is not."""
    def third_step(**params):
        s = _session(G, (FAR,), lr=0.01, **params)
        s._defer_readback = defer  # the accelerator's order: loss and backward queued before the read-back
        s.step(frame=False)
        s.step(frame=False)
        before = s.ws[:, :6].clone()
        moved = s.pairs[0].handle
        s.step(frame=False)
        assert math.dist(moved, s.pairs[0].handle) > 1e-3  # the handle moved: a "jump" of over 1e-4 px
        return (s.ws[:, :6] - before).abs(), s._run.get("adam_resets", 0)

    fresh, resets = third_step(reset_jump=1e-4)
    assert resets >= 1 and torch.allclose(fresh[fresh > 0], torch.tensor(0.01), rtol=1e-3)
    carried, resets = third_step()
    assert resets == 0 and not torch.allclose(carried[carried > 0], torch.tensor(0.01), rtol=1e-3)


def test_bench_specs_name_the_variants():
    assert parse_method("patch+hold=1+near=spring@3e-3") == ("patch", dict(hold=1.0, near="spring", lr=3e-3))
    assert parse_method("patch+frames+reset_jump=0.7") == ("patch", dict(frames=True, reset_jump=0.7))
    for bad, match in [("patch+hold=-1", "hold"), ("patch+near=far", "near"), ("patch+lr=1", "FIELD"),
                       ("draggan+hold=1", "after a tracker")]:
        with pytest.raises(DragEditError, match=match):
            parse_method(bad)
