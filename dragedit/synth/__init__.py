"""Synthetic cartoon faces with exact landmarks, and a landmark detector trained on them.

The renderer (`faces`) is the training data for dragedit's demo StyleGAN; the
detector (`landmarks`) measures where features ended up in generated images,
which is how drag edits are checked.
"""
from .faces import (FACTOR_NAMES, LANDMARK_NAMES, LANDMARK_INDEX, NUM_FACTORS, NUM_LANDMARKS,
                    factors_from_z, load_dataset, random_factors, render, render_batch,
                    render_dataset)

__all__ = ["FACTOR_NAMES", "LANDMARK_NAMES", "LANDMARK_INDEX", "NUM_FACTORS", "NUM_LANDMARKS",
           "factors_from_z", "load_dataset", "random_factors", "render", "render_batch",
           "render_dataset"]
