"""Suggested handle points: detector landmarks on the default model, distinctive feature points on any."""
import json
import os
import sys

import numpy as np
import pytest

from dragedit.cli import main
from dragedit.edit import semantics as S
from dragedit.edit import suggest as SG
from dragedit.edit.drag import DragSession
from dragedit.io.checkpoint import load_generator
from dragedit.models import DEFAULT_GENERATOR
from dragedit.nets.stylegan2 import ws_from_seed
from dragedit.synth import faces, landmarks

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op


@pytest.fixture(scope="module")
def G():
    return load_generator(DEFAULT_GENERATOR)


@pytest.mark.parametrize("seed", [0, 3])
def test_default_model_suggests_the_landmarks_of_the_current_image(G, seed):
    """Within 2 px of the landmarks detected on the image shown now: after a yaw edit, not the seed's."""
    assert SG.has_landmark_detector(G)
    base = ws_from_seed(G, seed)
    s = DragSession(G, ws=S.apply(G, base, [(S.find_factor(G, "yaw"), 2.0)]))
    pts = SG.suggest_points(s)
    assert [p["name"] for p in pts] == list(faces.LANDMARK_NAMES)
    assert all(p["kind"] == "landmark" for p in pts)
    now = landmarks.detect(s.render())
    dist = np.hypot(now[:, 0] - [p["x"] for p in pts], now[:, 1] - [p["y"] for p in pts])
    assert dist.max() <= 2.0
    before = landmarks.detect(DragSession(G, ws=base).render())
    nose = faces.LANDMARK_INDEX["nose_tip"]
    assert abs(pts[nose]["x"] - before[nose, 0]) > 2.0      # the suggestion follows the edited image


def _check_feature_points(pts, size, k=12):
    h, w = size
    assert len(pts) == k
    xy = np.array([(p["x"], p["y"]) for p in pts])
    assert (xy >= 0).all() and (xy[:, 0] <= w - 1).all() and (xy[:, 1] <= h - 1).all()
    gaps = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) + np.eye(k) * 1e9
    assert gaps.min() >= max(4.0, w / 16) - 1e-6                      # non-maximum suppressed
    return xy


def test_feature_points_on_the_default_model_are_distinctive_and_deterministic(G):
    s = DragSession(G, seed=1)
    pts = SG.suggest_points(s, use_detector=False)
    xy = _check_feature_points(pts, s.size)
    assert [p["name"] for p in pts][:2] == ["feature 1", "feature 2"]
    assert pts == SG.suggest_points(s, use_detector=False)
    score = SG.distinctiveness(s.features(), s.size).numpy()
    cell = s.size[1] / score.shape[1]
    at = [score[int((y + 0.5) / cell), int((x + 0.5) / cell)] for x, y in xy]
    assert min(at) > np.percentile(score, 90)                            # each is a strong local maximum
    assert all(np.diff(at) <= 1e-6)                                      # strongest first
    # a distinctive point is not on the flat background: its score beats the image corner's
    assert min(at) > 3 * score[2:6, 2:6].mean()


def test_feature_points_work_on_a_stylegan3_model_without_a_detector():
    G = op.make_stylegan3_generator(variant="t", resolution=32)
    s = DragSession(G, seed=0)
    assert not SG.has_landmark_detector(G)
    pts = SG.suggest_points(s)
    assert all(p["kind"] == "feature" for p in pts)
    _check_feature_points(pts, s.size, k=len(pts))
    assert 3 <= len(pts) <= 12


def test_nearest_picks_the_closest_ghost_within_the_radius():
    pts = [dict(x=10.0, y=10.0), dict(x=14.0, y=10.0)]
    assert SG.nearest(pts, 13, 10, 3) == 1
    assert SG.nearest(pts, 11, 10, 3) == 0
    assert SG.nearest(pts, 30, 30, 3) is None


def test_cli_suggest_prints_json_points(capsys):
    assert main(["edit", "--suggest", "--seed", "2", "--threads", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in out["points"]] == list(faces.LANDMARK_NAMES)
