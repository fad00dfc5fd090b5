"""The runner: the one process that owns torch, triton and the CUDA context.

``protocol`` (JSON lines, no heavy imports), ``server`` (``python -m workbench.runner``),
``client`` (spawns it, times requests out, restarts it after a crash and says why).
"""
