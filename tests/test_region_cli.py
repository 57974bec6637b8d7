"""`dragedit edit` with a region: --region / --region-mask / --region-part and --move / --rotate / --scale /
--pivot, as a user types them; bad input is one clear line."""
import json

import numpy as np
import pytest
from PIL import Image

from dragedit.cli import main


@pytest.fixture(scope="module")
def model_file(tiny_model_file):
    return tiny_model_file


def _edit(model_file, tmp_path, *args):
    rc = main(["edit", "--model", str(model_file), "--seed", "1", "--steps", "3", "--threads", "1", "--quiet",
               "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "out.png"), *args])
    assert rc == 0
    return json.loads((tmp_path / "r.json").read_text())


def test_a_rectangle_moved_becomes_tracked_pairs_inside_it(model_file, tmp_path):
    report = _edit(model_file, tmp_path, "--region", "10,20,30,40", "--move", "0,4")
    (region,) = report["regions"]
    assert region["affine"]["move"] == [0.0, 4.0] and region["pixels"] == 21 * 21
    handles = np.asarray(region["handles"])
    assert 16 <= len(handles) <= 32 and len(report["targets"]) == len(handles)
    assert (handles >= (10, 20)).all() and (handles <= (30, 40)).all()
    np.testing.assert_allclose(np.asarray(report["targets"]) - handles, 0 * handles + (0, 4))
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (64, 64, 3)


def test_a_mask_file_rotated_and_scaled_about_a_pivot(model_file, tmp_path):
    m = np.zeros((64, 64), np.uint8)
    m[16:40, 20:44] = 255
    Image.fromarray(m).save(tmp_path / "region.png")
    report = _edit(model_file, tmp_path, "--region-mask", str(tmp_path / "region.png"), "--rotate", "90",
                   "--scale", "1.5,1", "--pivot", "32,28")
    a = report["regions"][0]["affine"]
    assert a == dict(move=[0.0, 0.0], rotate=90.0, scale=[1.5, 1.0], pivot=[32.0, 28.0])
    h = np.asarray(report["regions"][0]["handles"])
    t = np.asarray(report["targets"])
    # x axis scaled by 1.5 then turned onto +y: (x, y) -> (32 - (y - 28), 28 + 1.5 (x - 32))
    np.testing.assert_allclose(t, np.stack([32 - (h[:, 1] - 28), 28 + 1.5 * (h[:, 0] - 32)], axis=1), atol=1e-6)


def test_a_part_selection_scaled(model_file, tmp_path):
    report = _edit(model_file, tmp_path, "--region-part", "32,32:0.2", "--scale", "1.2")
    region = report["regions"][0]
    assert region["pixels"] > 1 and region["affine"]["scale"] == [1.2, 1.2]


@pytest.mark.parametrize("args, expected", [
    (["--move", "0,4"], "--move transforms a region: give --region"),
    (["--region", "10,10,30,30"], "needs --move DX,DY, --rotate DEG or --scale S"),
    (["--region", "10,10,30", "--move", "1,0"], "--region '10,10,30': expected X0,Y0,X1,Y1"),
    (["--region", "10,10,30,30", "--move", "down"], "--move 'down': expected DX,DY"),
    (["--region", "10,10,30,30", "--scale", "0"], "affine.scale[0] is 0.0: expected a finite number above 0"),
    (["--region", "100,100,120,120", "--move", "1,0"], "covers no pixel of the 64x64 image"),
    (["--region", "10,10,30,30", "--move", "200,0"], "outside the image"),
    (["--region-part", "32;32", "--move", "1,0"], "--region-part '32;32': expected X,Y"),
])
def test_bad_region_options_are_one_clear_line(model_file, args, expected, capsys):
    rc = main(["edit", "--model", str(model_file), "--steps", "1", "--quiet"] + args)
    err = capsys.readouterr().err
    assert rc == 2 and expected in err and "Traceback" not in err


def test_only_one_region_form_at_a_time(model_file, capsys):
    with pytest.raises(SystemExit):
        main(["edit", "--model", str(model_file), "--region", "1,1,9,9", "--region-part", "5,5", "--move", "1,1"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_region_edit_sums_up_its_many_distances_in_one_line(model_file, tmp_path, capsys):
    _edit(model_file, tmp_path, "--region", "10,20,30,40", "--move", "0,4")
    assert "final distance mean " in capsys.readouterr().err
