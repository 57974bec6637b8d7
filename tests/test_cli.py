"""The command line as a user runs it: outputs exist and decode, bad input is one clear line, exit 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dragedit import __version__
from dragedit.cli import main


@pytest.fixture(scope="module")
def model_file(tiny_model_file):
    return tiny_model_file


def test_version_via_python_m():
    out = subprocess.run([sys.executable, "-m", "dragedit", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


def test_edit_writes_report_image_and_video(model_file, tmp_path, capsys):
    rc = main(["edit", "--model", str(model_file), "--seed", "3", "--pair", "20,30:28,30", "--steps", "6",
               "--out", str(tmp_path / "final.png"), "--video", str(tmp_path / "edit.gif"), "--overlay",
               "--frames", str(tmp_path / "frames"), "--json", str(tmp_path / "r.json"),
               "--save-latent", str(tmp_path / "w.npz"), "--threads", "1"])
    assert rc == 0
    report = json.loads((tmp_path / "r.json").read_text())
    for key in ("reached", "iterations", "handles", "targets", "final_distance", "iteration_ms", "options"):
        assert key in report
    assert report["targets"] == [[28.0, 30.0]]
    assert len(report["iteration_ms"]) == report["iterations"] == 6
    assert report["options"]["tracker"] == "patch" and report["options"]["space"] == "w+"
    assert np.asarray(Image.open(tmp_path / "final.png")).shape == (64, 64, 3)
    with Image.open(tmp_path / "edit.gif") as gif:
        assert gif.n_frames == 6
    assert len(list((tmp_path / "frames").glob("*.png"))) == 6
    # the saved latent is the one the final image shows, and a new edit can start from it
    from dragedit.edit.drag import DragSession
    from dragedit.io.checkpoint import load_generator
    from dragedit.io.latents import load_latent
    s = DragSession(load_generator(model_file), ws=load_latent(tmp_path / "w.npz"))
    assert np.array_equal(s.render(), np.asarray(Image.open(tmp_path / "final.png")))
    rc = main(["edit", "--model", str(model_file), "--latent", str(tmp_path / "w.npz"), "--pair",
               "20,30:28,30", "--steps", "1", "--quiet"])
    assert rc == 0


@pytest.mark.parametrize("args,expected", [
    (["--pair", "1,2"], "HANDLE_X,HANDLE_Y:TARGET_X,TARGET_Y"),
    (["--pair", "10,10:10,10"], "equals its handle"),
    (["--pair", "10,10:99,10"], "outside the 64x64 image"),
    ([], "at least one --pair"),
    (["--pair", "10,10:20,10", "--tracker", "psychic"], "tracker is 'psychic': expected one of"),
    (["--pair", "10,10:20,10", "--steps", "0"], "--steps"),
    (["--pair", "10,10:20,10", "--stall-patience", "-2"], "--stall-patience must be 0"),
])
def test_edit_bad_input_is_one_clear_line(model_file, args, expected, capsys):
    rc = main(["edit", "--model", str(model_file)] + args)
    err = capsys.readouterr().err
    assert rc == 2
    assert expected in err and "Traceback" not in err


def test_edit_that_cannot_get_closer_stops_by_itself(model_file, tmp_path, capsys):
    # learning rate 0: the image never changes, so the handle never gets closer
    rc = main(["edit", "--model", str(model_file), "--pair", "10,10:30,10", "--lr", "0", "--stall-patience", "3",
               "--steps", "100", "--json", str(tmp_path / "r.json"), "--quiet"])
    assert rc == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stalled"] and not report["reached"] and report["iterations"] == 4
    assert "got no closer" in capsys.readouterr().err


def test_edit_mask_of_wrong_size(model_file, tmp_path, capsys):
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "m.png")
    rc = main(["edit", "--model", str(model_file), "--pair", "10,10:20,10", "--mask", str(tmp_path / "m.png")])
    assert rc == 2 and "32x32 but the image is 64x64" in capsys.readouterr().err


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    rc = main(["edit", "--model", str(tmp_path / "nope.pkl"), "--pair", "1,1:5,5"])
    err = capsys.readouterr().err
    assert rc == 2 and "nope.pkl" in err and "not found" in err


def test_info_describes_a_model(model_file, capsys):
    assert main(["info", str(model_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["resolution"] == 64 and info["z_dim"] == 16 and info["w_dim"] == 32


def test_bench_generator_prints_median_and_p95(model_file, capsys):
    assert main(["bench", "--generator", "--model", str(model_file), "--repeats", "2", "--no-512",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "median / p95" in out and "tiny.pt" in out and "Machine:" in out


def test_drag_benchmark_writes_json_and_a_markdown_table(tmp_path):
    """A one-pair, two-step run of the landmark benchmark on the shipped model and detector."""
    js, md = tmp_path / "bench.json", tmp_path / "bench.md"
    assert main(["bench", "--pairs", "1", "--steps", "2", "--trackers", "nn", "--json", str(js),
                 "--md", str(md)]) == 0
    result = json.loads(js.read_text())
    assert set(result["rows"]) == {"no edit", "nn"}
    assert [e["iterations"] for e in result["raw"]] == [2, 2, 2]
    table = md.read_text()
    assert "| no edit |" in table and "| DragGAN tracking (nn) |" in table and "| 2, " in table
