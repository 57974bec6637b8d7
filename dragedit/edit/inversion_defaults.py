"""The projector's and pivotal tuning's defaults, in a module without torch so that the
command line and the app can show them cheaply."""

# Defaults chosen on rendered faces (README, "Real photos"): a pixel loss 30x the LPIPS scale and
# a higher learning rate took W+ on tests/data/face.png from 23.7 to 27.2 dB at 300 steps, and
# pivotal tuning from 27.0 to 32.0 dB at 200 steps; 400 and 300 steps leave a margin on harder faces.
PROJECT_STEPS = 400
PROJECT_LR = 0.2
PROJECT_PIXEL_WEIGHT = 30.0
PTI_STEPS = 300
PTI_LR = 3e-3
PTI_L2_WEIGHT = 30.0
# pivotal tuning's learning rate falls by a cosine to 0 over the last 40% of its steps
PTI_DECAY_START = 0.6
