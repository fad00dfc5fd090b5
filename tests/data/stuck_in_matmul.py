"""A script stuck in one long native call that a signal does not cut short: a CPU matmul (tens
of seconds on one thread). A Python signal handler runs only once it returns."""
import os

import torch

torch.set_num_threads(1)
a = torch.ones(5000, 5000, dtype=torch.float64)
if os.environ.get("WB_PIDFILE"):
    with open(os.environ["WB_PIDFILE"], "w") as f:
        f.write(str(os.getpid()))
while True:
    a @ a  # line 13
