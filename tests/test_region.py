"""Region drags in the engine: a region plus an affine map becomes tracked handle -> target pairs, one object
kept through snapshots, undo and the session file."""
import json

import numpy as np
import pytest

from dragedit.edit import region as R
from dragedit.edit.drag import DragSession
from dragedit.edit.session_file import read_session, save_session
from dragedit.errors import DragEditError
from dragedit.io.checkpoint import load_generator
from dragedit.models import DEFAULT_GENERATOR


@pytest.fixture(scope="module")
def G():
    return load_generator(DEFAULT_GENERATOR)


def test_affine_moves_turns_and_scales_about_the_pivot():
    a = R.Affine(move=(3, -2), rotate=90, scale=(2, 2), pivot=(10, 10))
    out = a.apply([(10, 10), (11, 10)], centre=(0, 0))
    np.testing.assert_allclose(out, [(13, 8), (13, 10)], atol=1e-9)   # x axis turns to +y (down, clockwise)
    b = R.Affine(scale=(1.5, 1.5))
    np.testing.assert_allclose(b.apply([(4, 4)], centre=(2, 2)), [(5, 5)])
    assert R.Affine().is_identity and not a.is_identity
    assert R.Affine.from_dict(a.to_dict()) == a
    assert R.Affine.from_dict(json.loads(json.dumps(b.to_dict()))) == b


@pytest.mark.parametrize("doc, field", [(dict(scale=[0, 1]), "affine.scale"), (dict(rotate="10"), "affine.rotate"),
                                        (dict(move=[1]), "affine.move"), (dict(pivot=[1, float("nan")]),
                                                                          "affine.pivot")])
def test_bad_affines_name_the_field(doc, field):
    with pytest.raises(DragEditError, match=field.replace(".", r"\.")):
        R.Affine.from_dict(doc)


def test_rect_mask_and_bad_rectangles():
    m = R.rect_mask((2, 3, 5, 4), (10, 10))
    assert m.sum() == 4 * 2 and m[3, 2] and m[4, 5] and not m[5, 5]
    with pytest.raises(DragEditError, match="covers no pixel"):
        R.rect_mask((20, 20, 30, 30), (10, 10))


def test_handles_lie_in_the_region_spread_out_and_favour_distinctive_pixels():
    mask = np.zeros((128, 128), bool)
    mask[40:80, 30:90] = True
    score = np.zeros((128, 128), np.float32)
    score[60, 60] = 1.0
    pts = R.sample_handles(mask, score)
    assert R.MIN_HANDLES <= len(pts) <= R.MAX_HANDLES
    assert tuple(pts[0]) == (60, 60)                               # the most distinctive pixel comes first
    assert all(mask[int(y), int(x)] for x, y in pts)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2) + np.eye(len(pts)) * 1e9
    assert d.min() >= 6                                            # spread out, not clustered
    assert np.ptp(pts[:, 0]) > 40 and np.ptp(pts[:, 1]) > 25       # and covering the region


def test_add_region_makes_pairs_whose_targets_are_the_transformed_handles(G):
    s = DragSession(G, seed=0)
    mask = R.rect_mask((50, 78, 80, 92), s.size)
    i = s.add_region(mask, R.Affine(move=(0, 6)))
    region = s.regions[i]
    assert len(s.pairs) == len(region.pairs) >= R.MIN_HANDLES
    for p, h in zip(region.pairs, region.handles):
        assert mask[int(h[1]), int(h[0])]
        np.testing.assert_allclose(np.subtract(p.target, p.handle), (0, 6))
    fixed = s._fixed_region()[0, 0].numpy() > 0          # the dilated region (and where it goes) is flexible
    assert not fixed[mask].any() and not fixed[85, 65 + 0] and fixed[20, 20] and fixed[40, 65]
    s.set_mask(np.zeros(s.size, bool) | R.rect_mask((0, 0, 127, 60), s.size), "fixed")   # a painted mask wins
    assert s._fixed_region()[0, 0, 85, 65] == 0 and s._fixed_region()[0, 0, 30, 65] == 1


def test_a_region_drag_moves_its_content_and_can_be_re_transformed_after_a_run(G):
    s = DragSession(G, seed=3)     # the fine-tuned default draws seed 0's mouth as a smear
    s.add_region(R.rect_mask((56, 78, 80, 90), s.size), R.Affine(move=(0, 4)))
    for res in s.run(40):
        pass
    moved = np.mean([np.subtract(p.handle, h) for p, h in zip(s.regions[0].pairs, s.regions[0].handles)], axis=0)
    assert moved[1] > 2 and abs(moved[0]) < 1.5, moved       # the handles went down with the content
    s.set_region_affine(0, R.Affine(move=(0, 4), rotate=5))
    r = s.regions[0]
    np.testing.assert_allclose([p.target for p in r.pairs], r.targets(), atol=1e-9)
    assert not np.allclose([p.handle for p in r.pairs], r.handles)   # the handles go on from where they are
    with pytest.raises(DragEditError, match="outside"):
        s.set_region_affine(0, R.Affine(move=(0, 90)))


def test_snapshot_restore_keeps_the_region_as_one_object(G):
    s = DragSession(G, seed=0)
    s.add_pair((20, 20), (25, 20))
    s.add_region(R.rect_mask((56, 78, 80, 90), s.size), R.Affine(scale=(1.2, 1.2)))
    snap = s.snapshot()
    s.remove_region(0)
    assert len(s.pairs) == 1 and not s.regions
    s.restore(snap)
    assert len(s.regions) == 1 and s.regions[0].affine == R.Affine(scale=(1.2, 1.2))
    assert all(any(p is q for q in s.pairs) for p in s.regions[0].pairs) and len(s.pairs) > 1
    with pytest.raises(DragEditError, match="must be an Affine"):
        s.set_region_affine(0, (0, 4))
    with pytest.raises(DragEditError, match="no region 3"):
        s.set_region_affine(3, R.Affine())
    s.clear_pairs()
    assert not s.regions and s._fixed_region() is None      # no region left to hold the rest fixed around


def test_bad_region_inputs_are_refused(G):
    s = DragSession(G, seed=0)
    with pytest.raises(DragEditError, match="selects no pixel"):
        s.add_region(np.zeros(s.size, bool), R.Affine(move=(1, 0)))
    with pytest.raises(DragEditError, match="64x64 but the image is 128x128"):
        s.add_region(np.ones((64, 64), bool), R.Affine())
    with pytest.raises(DragEditError, match="outside the image"):
        s.add_region(R.rect_mask((50, 50, 60, 60), s.size), R.Affine(move=(200, 0)))
    with pytest.raises(DragEditError, match="must be an Affine"):
        s.add_region(R.rect_mask((50, 50, 60, 60), s.size), (1, 2))


def test_a_saved_region_reopens_as_the_same_region(G, tmp_path):
    s = DragSession(G, seed=2)
    s.add_pair((20, 20), (25, 20))
    s.add_region(R.rect_mask((40, 50, 90, 70), s.size), R.Affine(rotate=8, scale=(1.1, 1.3), pivot=(64, 60)))
    path = save_session(tmp_path / "r.json", s, None)
    f = read_session(path)
    assert len(f.regions) == 1
    mask, affine, handles, indices = f.regions[0]
    assert affine == s.regions[0].affine and (mask == s.regions[0].mask).all()
    np.testing.assert_allclose(handles, s.regions[0].handles)
    s2 = DragSession(G, seed=0)
    s2.restore(f.snapshot_for(s2))
    r2 = s2.regions[0]
    assert [p.target for p in r2.pairs] == [p.target for p in s.regions[0].pairs]
    assert s2.pairs[0].handle == (20.0, 20.0) and len(s2.pairs) == len(s.pairs)


def _saved(tmp_path, G):
    s = DragSession(G, seed=2)
    s.add_region(R.rect_mask((40, 50, 90, 70), s.size), R.Affine(move=(2, 0)))
    path = save_session(tmp_path / "r.json", s, None)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["regions"][0]["affine"].update(scale=[1, -2]), r"regions\[0\]\.affine\.scale"),
    (lambda d: d["regions"][0].update(pairs=[999] * len(d["regions"][0]["pairs"])), "names pair 999"),
    (lambda d: d["regions"][0]["handles"].pop(), "as many handles as pairs"),
    (lambda d: d["regions"][0].pop("affine"), r"regions\[0\]\.affine is missing"),
    (lambda d: d["regions"][0]["handles"][0].__setitem__(0, 500.0), "outside the session's image"),
    (lambda d: d["regions"].append(dict(d["regions"][0])), "which regions\\[0\\] drives already"),
])
def test_a_broken_region_record_is_refused_naming_the_field(G, tmp_path, edit, message):
    path, doc = _saved(tmp_path, G)
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(DragEditError, match=message):
        read_session(path)


def test_a_missing_or_wrong_region_mask_is_refused(G, tmp_path):
    path, doc = _saved(tmp_path, G)
    arrays = dict(np.load(path.with_suffix(".npz")))
    arrays.pop("region_mask_0")
    np.savez(path.with_suffix(".npz"), **arrays)
    with pytest.raises(DragEditError, match="no 'region_mask_0' array"):
        read_session(path)
    arrays["region_mask_0"] = np.zeros((128, 128), bool)
    np.savez(path.with_suffix(".npz"), **arrays)
    with pytest.raises(DragEditError, match="selects no pixel"):
        read_session(path)
    arrays["region_mask_0"] = np.ones((64, 64), bool)
    np.savez(path.with_suffix(".npz"), **arrays)
    with pytest.raises(DragEditError, match="'region_mask_0' is 64x64"):
        read_session(path)


@pytest.mark.slow
def test_the_region_acceptance_evaluation_runs_and_reports_each_check(tmp_path):
    from dragedit.edit import region_eval
    path = tmp_path / "e.json"
    assert region_eval.main(["--seeds", "1", "--first-seed", "1", "--steps", "6", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    row = result["rows"][0]
    assert row["seed"] == 1 and len(row["mouth"]["moved"]) == len(region_eval.MOUTH)
    assert np.isfinite(row["head"]["turned"]) and len(row["eyes"]["growth"]) == 2
    assert all(isinstance(row[k]["passed"], bool) for k in ("mouth", "eyes", "head", "one_pair"))
    assert all(np.isfinite(row[k]["others_context"]) for k in ("mouth", "eyes"))
    assert set(result["summary"]) >= {"mouth_passed", "eyes_passed", "head_passed", "mean_closer",
                                      "eyes_others_context_median"}
