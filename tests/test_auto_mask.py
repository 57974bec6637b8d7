"""The automatic mask from the drag: the handles' parts, carried along their drags, and nothing far away."""
import numpy as np
import pytest

from dragedit.cli import main
from dragedit.edit.auto_mask import auto_mask
from dragedit.edit.drag import DragSession
from dragedit.edit.part_mask import part_mask
from dragedit.io.checkpoint import load_generator
from dragedit.models import DEFAULT_GENERATOR
from dragedit.synth import faces, landmarks


@pytest.fixture(scope="module")
def G():
    return load_generator(DEFAULT_GENERATOR)


def test_the_auto_mask_covers_each_handles_part_and_its_way_to_the_target(G):
    s = DragSession(G, seed=1)
    lm = landmarks.detect(s.render())
    pupil = tuple(lm[faces.LANDMARK_INDEX["r_pupil"]])
    mouth = tuple(lm[faces.LANDMARK_INDEX["mouth_left"]])
    s.add_pair(pupil, (pupil[0] + 8, pupil[1]))
    s.add_pair(mouth, (mouth[0], mouth[1] + 5))
    m = auto_mask(s)
    assert m.dtype == bool and m.shape == s.size
    eye = part_mask(s, pupil)
    assert m[eye].all()
    ys, xs = np.nonzero(eye)
    assert m[ys, np.clip(xs + 8, 0, 127)].all()                 # the eye's part where it is dragged to
    assert m[int(round(mouth[1] + 5)), int(round(mouth[0]))]
    assert m.mean() < 0.35 and not (m[0, 0] or m[-1, -1] or m[0, -1])
    assert auto_mask(DragSession(G, seed=1)) is None            # no pairs, no proposal


def test_auto_mask_benchmark_reports_each_method_per_subset(tmp_path):
    # no capsys here: the landmark benchmark module binds sys.stderr when first imported
    rc = main(["bench", "--auto-mask", "--pairs", "1", "--steps", "2", "--threads", "1",
               "--json", str(tmp_path / "a.json")])
    import json
    result = json.loads((tmp_path / "a.json").read_text())
    assert rc == 0 and set(result["rows"]) == {"no mask", "auto mask", "auto mask + 6 px"}
    assert all(set(r) == {"1", "5"} and r["1"]["md"] >= 0 for r in result["rows"].values())
    assert len(result["raw"]) == 2 * 3 and all(e["iterations"] <= 2 for e in result["raw"])
    from dragedit.bench.auto_mask import format_table
    assert "| auto mask |" in format_table(result)
