"""triton-workbench: every compilation level of a Triton kernel, side by side.

Importing the package is cheap and pulls in neither torch nor triton: the app process
imports it too. The layers, one way down: cli -> tui -> runner -> session, instrument, profile ->
runtime -> compiler -> model (docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the library surface, loaded on first use (it imports triton; the app process never does)
    if name == "jit":
        from .api import jit
        return jit
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
