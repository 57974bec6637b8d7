"""The drag's learning-rate default, in a module without torch so the command line's help can
name it without importing the engine."""

PAPER_LR = 2e-3
SMALL_MODEL_SIZE = 256
SMALL_MODEL_LR = 3e-3  # the landmark benchmark on the 128-px default model: closer and sooner than 2e-3


def default_lr(resolution: int) -> float:
    return SMALL_MODEL_LR if resolution <= SMALL_MODEL_SIZE else PAPER_LR


SINGLE_PAIR_LR = 4.5e-3  # one pair on a small model: the landmark benchmark's 1-point edits in fewer iterations


def default_lr_for(resolution: int, pairs: int) -> float:
    """The default with the number of point pairs known: a single pair on a model of 256 px or less
    takes the larger SINGLE_PAIR_LR (nothing else pulls the latent, so a larger step stays on course)."""
    if pairs == 1 and resolution <= SMALL_MODEL_SIZE:
        return SINGLE_PAIR_LR
    return default_lr(resolution)


# Shared by the command line and the window (one copy of each default):
EDIT_STEPS = 200        # iteration budget of one drag (`dragedit edit --steps`, the panel's Steps)
EXPORT_FPS = 15         # frames per second of an exported animation (`--fps`, the export dialog)
TRUNCATION_PSI = 0.7    # truncation of a seed's latent (DragParams.truncation_psi, the panel's Truncation)

# Frames during a run (preview "auto"): models over this size show the feature block's low-resolution
# RGB, scaled up smoothly, while the recent full frames' blocks after the feature block take longer
# than FRAME_TAIL_BUDGET_MS (median of the last 5; every 4th frame is full to keep timing them).
LOW_RES_FRAMES_ABOVE_PX = 256
FRAME_TAIL_BUDGET_MS = 200.0
