"""``triton_runner.language``: ``dump``, ``dump_boundary`` and ``dump_grids``, as theirs are called.

Each is :func:`workbench.language.dump` with their meaning attached (which program, where in
``dump_tensor``); a launch with ``dump_tensor=`` turns them into the workbench's dumps
(:mod:`workbench.triton_runner.dump`), and without it they compile to nothing, as theirs do.
"""

from __future__ import annotations

from workbench.language import _dump


def dump(val, offset=0, dump_grid=None, _semantic=None, _generator=None):
    """``val`` of program ``dump_grid`` (default 0, 0, 0), flattened, at ``dump_tensor[offset:]``."""
    return _dump(val, offset, dump_grid, "dump", _semantic, 2)


def dump_boundary(val, offset=0, _semantic=None, _generator=None):
    """``val`` of the grid's last program, at ``dump_tensor[offset:]``."""
    return _dump(val, offset, None, "dump_boundary", _semantic, 2)


def dump_grids(val, offset=0, _semantic=None, _generator=None):
    """``val`` of every program, at ``dump_tensor[offset + pid_1d * numel:]``."""
    return _dump(val, offset, None, "dump_grids", _semantic, 2)


for _fn in (dump, dump_boundary, dump_grids):
    _fn.__triton_builtin__ = True   # Triton's front end passes _semantic to builtins

__all__ = ["dump", "dump_boundary", "dump_grids"]
