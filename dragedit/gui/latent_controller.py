"""The image's latent from the panel: seed, truncation, Reset image, and the drag settings the
session reads (learning rate, tracker, stop distance, space). A new image (seed, latent file,
photo) clears the old image's points and mask in the same undoable edit."""
from __future__ import annotations

import random

from ..edit.drag import DragParams
from ..errors import DragEditError
from .widget_values import set_quietly


class LatentController:
    def __init__(self, doc, panel, points, status):
        """points: the PointsController (its marks go with the old image); status(text, ms)."""
        self.doc, self.panel, self.points, self.status = doc, panel, points, status
        p = panel
        p.seed.valueChanged.connect(self.set_seed)
        p.seed.seedEntered.connect(lambda v: self.set_seed(v, force=True))
        p.truncation.valueChanged.connect(self.set_truncation)
        p.space.currentIndexChanged.connect(lambda _i: self.apply_params())
        p.lr.valueChanged.connect(lambda _v: self.apply_params())
        p.tracker.currentIndexChanged.connect(lambda _i: self.apply_params())
        p.stop_distance.valueChanged.connect(lambda _v: self.apply_params())
        doc.latentChanged.connect(self.show_latent)

    def show_latent(self):
        s = self.doc.session
        if s is not None:
            set_quietly(self.panel.seed, s.seed)
            set_quietly(self.panel.truncation, s.params.truncation_psi)

    def params_from_ui(self) -> DragParams:
        p = self.panel
        return DragParams(lr=float(p.lr.value()) or None, space=p.space.currentData(), tracker=p.tracker.currentData(),
                          truncation_psi=float(p.truncation.value()),
                          stop_distance=float(p.stop_distance.value()) or None)

    def apply_params(self) -> bool:
        """The panel's drag settings into the session; False (and a status note) when one is invalid."""
        session = self.doc.session
        if session is None:
            return True
        new = self.params_from_ui()
        try:
            new.validate()
        except DragEditError as exc:
            self.status(str(exc), 8000)
            return False
        s = session.params
        s.lr, s.tracker, s.stop_distance = new.lr, new.tracker, new.stop_distance
        if not self.doc.running:
            s.space = new.space  # the run's optimiser was built for one space: a change waits for Start
        return True

    def set_seed(self, seed, force=False):
        """A new seed is a new image: its points and mask are cleared in the same undoable edit."""
        s = self.doc.session
        if s is None or (int(seed) == s.seed and self.doc.frame_ok and self.doc.source == ("seed", s.seed)
                         and not force):
            return
        psi = self.panel.truncation.value()
        self.replace_image(f"Seed {seed}", lambda: s.set_seed(int(seed), psi), ("seed", int(seed)), f"Seed {seed}")

    def replace_image(self, text, set_image, source, note, title=None) -> bool:
        """A new image (seed, latent file, photo): set_image() changes the latent, and the old image's
        points and mask are cleared with it, as one undoable edit; the status bar says what went."""
        s = self.doc.session
        if s is None:
            return False
        dropped = [f"{len(s.pairs)} pair{'s' if len(s.pairs) != 1 else ''}"] if s.pairs else []
        dropped += ["the mask"] if s.mask is not None else []

        def apply():
            set_image()
            s.clear_pairs()
            s.set_mask(None, mode=s.mask_mode)

        if not self.doc.edit(text, apply, changes_latent=True, title=title, source=source):
            return False
        self.points.clear_marks()
        if dropped:
            self.status(f"{note}: cleared {' and '.join(dropped)} of the old image (Ctrl+Z brings them back).",
                        15000)
        return True

    def random_seed(self):
        self.panel.seed.setValue(random.randrange(0, 100000))

    def set_truncation(self, psi):
        s = self.doc.session
        if s is None:
            return
        seed = s.seed
        self.doc.edit(f"Truncation {psi:.2f}", lambda: s.set_seed(seed, float(psi)),
                      changes_latent=True, merge_key="truncation", source=("seed", seed))

    def reset_image(self):
        s = self.doc.session
        if s is not None:
            self.doc.edit("Reset image", s.reset, changes_latent=True)
