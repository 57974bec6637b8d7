"""Issue 16, defects 3 and 4 and the export options: GIFs keep the marker colours at a sane size,
exports run in the background with progress and Cancel (and leave nothing half-written), scale
and resampling, MP4 as H.264 when imageio-ffmpeg is installed and mp4v otherwise."""
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer

from dragedit.io import export as E
from gui_helpers import add_pair, wait_run_end



def run(qtbot, w, steps=8):
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(steps)
    w.panel.stop_distance.setValue(0.1)
    assert w.runs.start()
    wait_run_end(qtbot, w)
    return len(w.doc.timeline)


def export(qtbot, w, path, **opts):
    from dragedit.gui.export_controller import ExportOptions
    assert w.exporter.export(path, options=ExportOptions(**opts))
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=60000)


def test_gif_keeps_the_marker_colours_of_the_png_frames(qtbot, win, tmp_path):
    w = win
    n = run(qtbot, w)
    export(qtbot, w, tmp_path / "seq", kind="png", overlay=True)
    export(qtbot, w, tmp_path / "edit.gif", kind="gif", overlay=True)
    pngs = sorted((tmp_path / "seq").glob("*.png"))
    assert len(pngs) == n
    with Image.open(tmp_path / "edit.gif") as gif:
        assert gif.n_frames == n
        for i in (0, n // 2, n - 1):
            gif.seek(i)
            g = np.asarray(gif.convert("RGB")).astype(int)
            p = np.asarray(Image.open(pngs[i]).convert("RGB")).astype(int)
            assert g.shape == p.shape
            for colour in (E.HANDLE_COLOUR, E.TARGET_COLOUR):
                at = np.all(p == colour, axis=-1)
                assert at.sum() > 20, "the markers are drawn"
                assert np.abs(g[at] - p[at]).max() <= 3, f"marker {colour} changed colour in frame {i}"
            assert np.abs(g - p).mean() < 6, "the picture is not posterised"


def test_gif_is_smaller_than_pillows_default_conversion(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128]
    frames = []
    for i in range(20):
        base = np.stack([np.sin(xx / 9 + i / 5), np.cos(yy / 7), np.sin((xx + yy) / 13 - i / 4)], -1)
        f = ((base * 0.5 + 0.5) * 220 + rng.integers(0, 8, base.shape)).astype(np.uint8)
        frames.append(E.draw_points(f, [(30 + i, 40)], [(80, 90)]))
    ours = E.save_gif(frames, tmp_path / "ours.gif", fps=10)
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(tmp_path / "plain.gif", save_all=True, append_images=ims[1:], duration=100, loop=0)
    size, plain = ours.stat().st_size, (tmp_path / "plain.gif").stat().st_size
    print(f"\nGIF of 20 frames at 512 px: {size / 1e3:.0f} kB (Pillow's default: {plain / 1e3:.0f} kB)")
    assert size < plain


def slow_frames(monkeypatch, seconds=0.05):
    """Each frame takes a while to prepare, in whatever thread prepares it."""
    import dragedit.gui.export_controller as ec
    real = ec.render_frame

    def slow(entry, options):
        time.sleep(seconds)
        return real(entry, options)

    monkeypatch.setattr(ec, "render_frame", slow)


def test_the_event_loop_runs_during_an_export(qtbot, win, tmp_path, monkeypatch, capsys):
    w = win
    n = run(qtbot, w, steps=12)
    slow_frames(monkeypatch, 0.05)  # >= 0.6 s of work: if it ran in the GUI thread no tick could fire
    ticks, gaps, last = [], [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        if w.exporter.busy:
            ticks.append(now)

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    progress = []
    w.exporter.progress.connect(lambda d, t: progress.append((d, t)))
    assert w.exporter.export(tmp_path / "edit.gif", "gif")
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=60000)
    timer.stop()
    with capsys.disabled():
        print(f"\nevent-loop probe during export: {len(ticks)} ticks over {n} frames, worst gap "
              f"{max(gaps) * 1000:.0f} ms, median {np.median(gaps) * 1000:.0f} ms")
    assert len(ticks) >= 5, "the window kept handling events while the frames were written"
    assert max(gaps) < 0.4, f"the window froze for {max(gaps) * 1000:.0f} ms"  # all frames in this thread: >= 0.6 s
    assert progress and progress[-1] == (n, n)
    assert (tmp_path / "edit.gif").is_file()


@pytest.mark.parametrize("kind", ["gif", "mp4", "png"])
def test_cancel_leaves_no_half_written_file(qtbot, win, tmp_path, monkeypatch, kind):
    w = win
    run(qtbot, w, steps=12)
    slow_frames(monkeypatch, 0.05)
    dlg = w.exporter.open_dialog(kind)
    out = tmp_path / "out"
    out.mkdir()
    dlg.path.setText(str(out / ("seq" if kind == "png" else f"edit.{kind}")))
    assert dlg.start() and w.exporter.busy
    qtbot.waitUntil(lambda: dlg.progress.value() >= 3, timeout=20000)
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=20000)
    assert "cancelled" in dlg.summary.text().lower()
    assert dlg.progress.value() == 0          # nothing was written: no old count left on the bar
    left = [p for p in out.rglob("*") if p.is_file()]
    assert left == [], f"left behind: {left}"
    assert not dlg.running and dlg.export_button.isEnabled()


def test_scale_and_resampling(qtbot, win, tmp_path):
    w = win
    n = run(qtbot, w, steps=3)
    export(qtbot, w, tmp_path / "x1", kind="png", scale=1)
    export(qtbot, w, tmp_path / "x4", kind="png", scale=4)
    export(qtbot, w, tmp_path / "x4s", kind="png", scale=4, smooth=True)
    a = np.asarray(Image.open(sorted((tmp_path / "x1").glob("*.png"))[-1]))
    b = np.asarray(Image.open(sorted((tmp_path / "x4").glob("*.png"))[-1]))
    c = np.asarray(Image.open(sorted((tmp_path / "x4s").glob("*.png"))[-1]))
    assert a.shape == (64, 64, 3) and b.shape == c.shape == (256, 256, 3)
    assert np.array_equal(b[::4, ::4], a) and np.array_equal(b[3::4, 3::4], a)  # nearest: exact blocks
    assert not np.array_equal(c, b)                                             # smooth: interpolated
    assert len(list((tmp_path / "x4").glob("*.png"))) == n


def count_mp4(path):
    import cv2
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_mp4_without_imageio_ffmpeg_falls_back_to_mp4v(qtbot, win, tmp_path, monkeypatch):
    w = win
    n = run(qtbot, w, steps=4)
    monkeypatch.setattr(E, "h264_available", lambda: False)
    export(qtbot, w, tmp_path / "v.mp4", kind="mp4", scale=1)
    assert count_mp4(tmp_path / "v.mp4") == n
    assert "imageio-ffmpeg" in w.statusBar().currentMessage()


def test_mp4_is_h264_yuv420p_with_imageio_ffmpeg(tmp_path):
    iio = pytest.importorskip("imageio_ffmpeg")
    frames = [np.full((63, 65, 3), i * 20, np.uint8) for i in range(6)]  # odd sizes: padded to even
    out = E.save_mp4(frames, tmp_path / "v.mp4", fps=12)
    import subprocess
    probe = subprocess.run([iio.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True)
    assert "h264" in probe.stderr and "yuv420p" in probe.stderr and "66x64" in probe.stderr
    assert count_mp4(out) == 6


def test_the_export_dialog_remembers_its_options(qtbot, win, tmp_path):
    w = win
    run(qtbot, w, steps=3)
    dlg = w.exporter.open_dialog("gif")
    dlg.scale.setCurrentIndex(dlg.scale.findData(2))
    dlg.smooth.setCurrentIndex(1)
    dlg.overlay.setChecked(True)
    dlg.fps.setValue(24)
    dlg.path.setText(str(tmp_path / "a.gif"))
    dlg.kind.setCurrentIndex(dlg.kind.findData("mp4"))
    assert dlg.path.text().endswith("a.mp4")  # the file name follows the format
    assert "128 x 128" in dlg.summary.text()
    assert dlg.start()
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=60000)
    assert (tmp_path / "a.mp4").is_file() and dlg.cancel_button.text() == "Close"
    dlg.close()
    again = w.exporter.open_dialog("gif")
    o = again.options()
    assert (o.scale, o.smooth, o.overlay, o.fps) == (2, True, True, 24)
    again.close()


def test_a_typed_extension_wins_over_the_format_and_the_bar_and_status_agree(qtbot, win, tmp_path):
    w = win
    n = run(qtbot, w, steps=6)
    dlg = w.exporter.open_dialog("mp4")
    dlg.path.setText(str(tmp_path / "x.gif"))          # typed while the format says MP4
    seen = []
    w.exporter.progress.connect(lambda d, t: seen.append((dlg.progress.value(), d, t,
                                                          w.statusBar().currentMessage())))
    assert dlg.start()
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=60000)
    assert (tmp_path / "x.gif").is_file() and not (tmp_path / "x.gif.mp4").exists()
    assert dlg.kind.currentData() == "gif"
    with Image.open(tmp_path / "x.gif") as gif:
        assert gif.n_frames == n
    assert seen and all(bar == d and f"{d} / {t} frames" in text for bar, d, t, text in seen), seen
    dlg.fps.setValue(dlg.fps.value() + 1)              # a changed option: a new export, no old count
    assert dlg.progress.value() == 0


def test_gif_markers_keep_their_colour_on_a_picture_that_fills_the_palette(tmp_path):
    """Thousands of reds and blues near the marker colours compete for the palette: without marker
    entries of their own, quantisation gives the markers the average of their neighbours."""
    rng = np.random.default_rng(3)
    frames = []
    for i in range(3):
        near = np.where(rng.random((128, 128, 1)) < 0.5, E.HANDLE_COLOUR, E.TARGET_COLOUR)  # reds and blues
        f = np.clip(near + rng.integers(-24, 25, (128, 128, 3)), 0, 255).astype(np.uint8)
        frames.append(E.draw_points(f, [(30 + i, 40)], [(90, 80)]))
    with Image.open(E.save_gif(frames, tmp_path / "m.gif", fps=10)) as gif:
        for i, p in enumerate(frames):
            gif.seek(i)
            g = np.asarray(gif.convert("RGB")).astype(int)
            for colour in (E.HANDLE_COLOUR, E.TARGET_COLOUR):
                at = np.all(p == colour, axis=-1)
                assert at.sum() > 20
                assert np.abs(g[at] - np.asarray(colour)).max() <= 3, f"marker {colour} shifted in frame {i}"
