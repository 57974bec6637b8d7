"""The Start-latency benchmark drives the real window: it must see each run change the picture."""
import math

from dragedit.gui.start_latency import measure
from dragedit.models import DEFAULT_GENERATOR


def test_start_latency_sees_every_run_change_the_picture(qtbot):
    lines = []
    res = measure(DEFAULT_GENERATOR, seeds=2, first_seed=3, log=lines.append)
    assert len(res["rows"]) == 2 and res["missed"] == 0, lines
    for row in res["rows"]:
        assert 0 < row["first_change_s"] <= row["visible_s"] < 30, row
        assert row["worst_gap_ms"] > 0
    assert math.isfinite(res["warm_up_s"]) and res["warm_up_s"] >= 0
    assert any(line.startswith("worker warm-up") for line in lines)
