"""What each command of gui/actions.py does: the handler table the window's actions are made from
(the main window is the one place that knows every controller, so the table reads them from it)."""
from __future__ import annotations


def command_handlers(w) -> dict:
    """What each command of gui/actions.py does in this window."""
    c = lambda: w.canvas  # noqa: E731 - the canvas is made after the actions
    return dict(
        open_model=w.open_model_dialog, open_image=lambda: w.photos.open_dialog(),
        open_session=lambda: w.sessions.open_dialog(), save_session=lambda: w.sessions.save_dialog(),
        recover_session=lambda: w.sessions.recover(),
        save_image=lambda: w.need_session() and w.image_save.dialog(w.source_stem()),
        save_latent=lambda: w.sessions.save_latent_dialog(),
        load_latent=lambda: w.sessions.load_latent_dialog(),
        export_gif=lambda: w.need_session() and w.exporter.open_dialog("gif"),
        export_png=lambda: w.need_session() and w.exporter.open_dialog("png"),
        export_mp4=lambda: w.need_session() and w.exporter.open_dialog("mp4"), quit=w.close,
        preferences=lambda: w.dialogs.open_preferences(),
        undo=w.undo, redo=w.redo, start_stop=lambda: w.runs.toggle(), reset_points=lambda: w.points.reset(),
        remove_pair=lambda: w.points.remove_selected(), cancel=lambda: w.points.cancel_pending(),
        reset_image=lambda: w.latent.reset_image(), random_seed=lambda: w.latent.random_seed(),
        points_tool=lambda on: on and w.masks.set_tool("points"),
        mask_tool=lambda on: on and w.masks.set_tool("mask"), brush_smaller=lambda: w.masks.resize_brush(-1),
        brush_larger=lambda: w.masks.resize_brush(+1),
        toggle_mask=lambda on: w.panel.show_mask.setChecked(on), clear_mask=lambda: w.masks.clear_mask(),
        zoom_in=lambda: c().zoom_by(1.25), zoom_out=lambda: c().zoom_by(0.8),
        fit=lambda: c().fit_to_window(), actual_size=lambda: c().set_zoom(1.0),
        show_pixels=w._show_pixels,
        compare_side=lambda on: w.compare.set_side_by_side(on, w._ws_initial()),
        compare_hold=lambda on: w.compare.hold(on, w._ws_initial()),
        compare_split=lambda on: w.compare.set_mode("split" if on else "off", w._ws_initial()),
        suggest_points=lambda on: w.semantics.show_ghosts(on),
        region_tool=lambda on: w.region_tool.set_active(on),   # issue 24: region / warp / auto mask
        warp_preview=lambda on: w.warp_preview.set_enabled(on),
        auto_region=lambda on: w.auto_region.set_enabled(on),
        shortcuts=lambda: w.dialogs.show_help(0), howto=lambda: w.dialogs.show_help(1),
        about=lambda: w.dialogs.show_about())
