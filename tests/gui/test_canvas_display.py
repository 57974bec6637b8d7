"""The picture above 100%: smooth by default, the pixel grid with View > Show pixels; the markers and
the mask's edge stay sharp either way."""
import numpy as np
from PySide6.QtCore import QSettings

from gui_helpers import add_pair, make_window


def canvas_pixels(w):
    from PySide6.QtGui import QImage
    img = w.canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3).astype(int)


def distinct_steps(row):
    """How many different values a row of screen pixels takes: a 5x nearest-neighbour row repeats each
    image pixel five times; a smooth one interpolates between them."""
    return len({tuple(v) for v in row})


def test_zoom_above_100_percent_is_smooth_unless_show_pixels(qtbot, win, settings, gen_path):
    w = win
    w.canvas.set_zoom(5.0)
    assert w.canvas.smooth_image() and not w.actions_["show_pixels"].isChecked()
    centre = w.canvas.image_to_widget(32, 32)
    y, x0 = round(centre.y()), round(centre.x()) - 100
    smooth = canvas_pixels(w)[y, x0:x0 + 200]
    w.actions_["show_pixels"].trigger()
    assert w.canvas.show_pixels and not w.canvas.smooth_image()
    blocks = canvas_pixels(w)[y, x0:x0 + 200]
    # nearest neighbour: 200 screen pixels at 5x show at most 41 image pixels; smooth shows many more values
    assert distinct_steps(blocks) <= 41 < distinct_steps(smooth)
    w.close()
    again = make_window(qtbot, QSettings(settings.fileName(), QSettings.Format.IniFormat), gen_path)
    assert again.actions_["show_pixels"].isChecked() and again.canvas.show_pixels   # remembered
    again.close()


def test_markers_and_mask_edges_stay_sharp_when_smooth(win):
    w = win
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    w.session.set_mask(mask, "flexible")
    w.canvas.set_mask(mask)
    add_pair(w, (10, 10), (50, 50))
    w.canvas.set_zoom(5.0)
    assert w.canvas.smooth_image()
    px = canvas_pixels(w)
    # the mask rim is drawn per image pixel: across its outer edge the tint starts within one screen pixel
    edge = w.canvas.image_to_widget(16, 32)
    y, x = round(edge.y()), round(edge.x())
    without = w.canvas.show_mask
    w.canvas.set_show_mask(False)
    plain = canvas_pixels(w)
    w.canvas.set_show_mask(without)
    diff = np.abs(px[y, x - 12:x + 12] - plain[y, x - 12:x + 12]).sum(axis=1)
    first = int(np.argmax(diff > 30))
    # untinted outside, fully tinted from the first tinted screen pixel on: no ramp of half tints
    assert 0 < first < 20 and diff[:first].max() < 10 and diff[first:first + 4].min() > 30, diff
