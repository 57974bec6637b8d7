"""Test-wide settings: torch threads (DRAGEDIT_TEST_THREADS, default 2: the CI machine's cores;
use 1 while other jobs share the CPU, since oversubscribed threads slow torch down many times)."""
import os

import torch

torch.set_num_threads(int(os.environ.get("DRAGEDIT_TEST_THREADS", "2")))
