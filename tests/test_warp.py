"""The warp preview: each handle's pixel lands on its target, fixed pixels never change."""
import numpy as np
import pytest

from dragedit.edit import region as R
from dragedit.edit.warp import Warper, session_fixed_mask, warp_preview
from dragedit.errors import DragEditError


def coordinate_image(h, w):
    """float32 [H, W, 3] whose pixel (x, y) holds (x, y, 0): a warped copy says where each pixel came from."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([xx, yy, np.zeros_like(xx)])


PAIRS = [((100, 100), (112, 104)), ((140, 120), (136, 131)), ((160, 300), (175, 290)), ((300, 310), (300, 330)),
         ((105, 112), (98, 126))]


@pytest.mark.parametrize("size, grid", [((512, 512), 8), ((512, 512), None), ((384, 448), 16), ((128, 128), None)])
def test_each_handle_pixel_lands_on_its_target_and_fixed_pixels_stay(size, grid):
    h, w = size
    scale = h / 512
    pairs = [((a * scale, b * scale), (c * scale, d * scale)) for (a, b), (c, d) in PAIRS]
    pairs = [((round(x), round(y)), (round(u), round(v))) for (x, y), (u, v) in pairs]
    fixed = np.zeros(size, bool)
    fixed[int(0.8 * h):, :] = True
    fixed[:, :int(0.1 * w)] = True
    img = coordinate_image(h, w)
    out = Warper(size, grid=grid).warp(img, pairs, fixed)
    for (hx, hy), (tx, ty) in pairs:
        got = out[ty, tx, :2]
        assert np.hypot(got[0] - hx, got[1] - hy) <= 1.0, ((hx, hy), (tx, ty), got)
    assert np.array_equal(out[fixed], img[fixed])
    assert np.abs(out[~fixed] - img[~fixed]).max() > 3            # and it did warp the rest


def test_a_uint8_photo_keeps_its_fixed_pixels_exactly_and_no_pairs_is_no_change():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    fixed = R.rect_mask((0, 0, 127, 40), (128, 128))
    out = warp_preview(img, [((64, 80), (70, 90))], fixed)
    assert out.dtype == np.uint8 and np.array_equal(out[fixed], img[fixed])
    assert not np.array_equal(out, img)
    assert np.array_equal(warp_preview(img, []), img)


def test_a_lone_pair_warps_locally():
    img = coordinate_image(256, 256)
    out = Warper((256, 256)).warp(img, [((128, 128), (140, 128))])
    assert abs(out[128, 140, 0] - 128) <= 1
    assert np.abs(out[5, 5, :2] - img[5, 5, :2]).max() < 1.0      # the far corner hardly moves


def test_a_region_preview_moves_the_region_by_its_affine():
    mask = R.rect_mask((40, 40, 80, 70), (128, 128))
    region = R.Region(mask=mask, affine=R.Affine(move=(0, 6)),
                      handles=R.sample_handles(mask, np.zeros((128, 128), np.float32)))
    out = Warper((128, 128)).warp(coordinate_image(128, 128), region.pair_points(), ~region.flexible_area())
    inner = out[50:60, 50:70, 1] - np.mgrid[50:60, 50:70][0]
    np.testing.assert_allclose(inner, -6, atol=0.5)                  # each pixel shows what was 6 px above


def test_session_fixed_mask_follows_the_painted_mask_or_the_regions():
    class S:  # the attributes of a DragSession that the preview reads
        size, mask, mask_mode, regions = (64, 64), None, "flexible", []
    s = S()
    assert session_fixed_mask(s) is None
    s.mask = R.rect_mask((0, 0, 10, 10), s.size)
    assert session_fixed_mask(s)[40, 40] and not session_fixed_mask(s)[5, 5]
    s.mask_mode = "fixed"
    assert session_fixed_mask(s)[5, 5] and not session_fixed_mask(s)[40, 40]


def test_bad_warp_inputs_are_refused():
    w = Warper((64, 64))
    with pytest.raises(DragEditError, match="NaN"):
        w.maps([((1, 1), (float("nan"), 2))])
    with pytest.raises(DragEditError, match="must be"):
        w.maps([(1, 2)])
    with pytest.raises(DragEditError, match="32x32 but the warper is for 64x64"):
        w.warp(np.zeros((32, 32, 3), np.uint8), [])
    with pytest.raises(DragEditError, match="fixed mask is 8x8"):
        w.warp(np.zeros((64, 64, 3), np.uint8), [((1, 1), (3, 3))], np.ones((8, 8), bool))


def test_the_warp_benchmark_reports_median_and_p95_per_case():
    from dragedit.bench.warp import CASES, bench_warp, format_warp_table
    rows = bench_warp(sizes=(64,), repeats=5)
    assert [r["case"] for r in rows] == [c[0] for c in CASES]
    assert all(0 < r["median_ms"] <= r["p95_ms"] for r in rows)
    table = format_warp_table(rows, "test machine", 1)
    assert "| 64 px | region: 32 pairs + fixed mask |" in table and "OpenCV threads 1" in table
