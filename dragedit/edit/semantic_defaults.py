"""Torch-free constants of the semantic tools, shared by the engine, the CLI's help and the app."""

LAYER_RANGES = ("coarse", "middle", "fine", "all")  # which ws a direction edits (semantics.layer_indices)
PART_THRESHOLD = 0.5  # cosine similarity a part mask's features must reach (part_mask)
SLIDER_RANGE = 3.0    # the app's sliders span +-3: a named factor's whole range, or 3 standard deviations (SeFa)
