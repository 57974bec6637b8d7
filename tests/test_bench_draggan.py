"""The benchmark's DragGAN baseline (bench/draggan.py) is DragGAN's loop: on the shipped model, with
DragGAN's radii, our DragSession with its nearest-neighbour tracker takes the very same steps."""
import json

import numpy as np
import pytest
import torch

import dragedit
from dragedit.bench.draggan import DragGANLoop, radii
from dragedit.cli import main
from dragedit.edit.drag import DragParams, DragSession
from dragedit.models import DEFAULT_GENERATOR

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_papers_radii_scale_with_the_image():
    assert radii(512) == (3, 12, 2.0)
    assert radii(1024) == (6, 24, 4.0)
    assert radii(128) == (1, 3, 2.0)


def test_draggan_loop_and_drag_session_take_the_same_steps():
    G = dragedit.load_generator(DEFAULT_GENERATOR)
    r1, r2, stop = radii(128)
    s = DragSession(G, seed=5, params=DragParams(tracker="nn", lr=2e-3, r1=r1, r2=r2, stop_distance=stop))
    handle, target = (62, 76), (70, 76)
    s.add_pair(handle, target)
    loop = DragGANLoop(G, s.ws.clone(), [handle], [target])
    for i in range(8):
        reached = loop.step()
        res = s.step()
        assert res.handles == [tuple(map(float, loop.points[0]))], f"iteration {i}"
        assert res.reached == reached
        assert torch.allclose(s.ws, loop.ws().detach(), atol=1e-5), f"iteration {i}"
    assert loop.points[0][0] > handle[0], "the handle moved toward its target"


def test_bench_puts_draggans_loop_beside_ours(tmp_path):
    js, md = tmp_path / "bench.json", tmp_path / "bench.md"
    assert main(["bench", "--pairs", "1", "--steps", "3", "--trackers", "draggan,patch+frames,patch",
                 "--subsets", "1", "--threads", "1", "--json", str(js), "--md", str(md)]) == 0
    result = json.loads(js.read_text())
    assert set(result["rows"]) == {"no edit", "draggan", "patch+frames", "patch"}
    assert all(set(r) == {"1"} for r in result["rows"].values())
    assert all(1 <= e["iterations"] <= 3 for e in result["raw"])
    table = md.read_text()
    for row in ("| DragGAN's own loop |", "| ours (patch tracker), every frame rendered |", "| ours (patch tracker) |"):
        assert row in table
    assert "load average" in table
    # rendering every frame changes the cost, not the edit (beyond the float rounding of the graph's form)
    raw = {e["tracker"]: e for e in result["raw"]}
    assert abs(raw["patch"]["md"] - raw["patch+frames"]["md"]) < 0.5 and np.isfinite(raw["draggan"]["md"])


@pytest.mark.parametrize("argv, match", [(["--subsets", "2"], "--subsets"),
                                         (["--trackers", "draggan+frames"], "+frames"),
                                         (["--trackers", "patch+video"], "+frames")])
def test_bad_benchmark_choices_are_one_line_errors(argv, match, capsys):
    assert main(["bench", "--pairs", "1", "--steps", "1"] + argv) == 2
    assert match in capsys.readouterr().err


def test_speed_bench_times_the_iteration_with_and_without_its_frame(tiny_model_file, capsys):
    assert main(["bench", "--speed", "--no-512", "--model", str(tiny_model_file), "--repeats", "2",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "| tiny.pt | 64 |" in out and "ours without the frame median / p95 (ms)" in out
