"""Every autotune config replayed on the inputs the chosen one was captured with.

The autotuner launches each config on the launch's own arguments, so the snapshot of the
chosen config's launch holds the inputs of every config: a config's replay is that snapshot
with the config's meta-parameters and options in place of the chosen one's, its grid computed
by the script's own grid function, and the autotuner's hooks run before it as Triton runs them
before the launch it keeps (``reset_to_zero``, then the config's ``pre_hook``; the
``restore_value`` post hook would undo the outputs, so it is not run). Each is checked
against the chosen config's outputs, with a tolerance that summing in another order needs.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from workbench.runtime.capture.model import Capture, KernelSpec, Tuning
from workbench.runtime.capture.snapshot import Snapshot
from workbench.model.diagnostics import WorkbenchError
from workbench.model.expr import Expr, evaluate, parse
from workbench.runtime.verify import REORDER_TOLERANCES



@dataclass
class ConfigReplay:
    """How one config of one tuning replays."""

    tuning: Tuning
    index: int

    @property
    def chosen(self) -> bool:
        return self.index == self.tuning.chosen

    def before_launch(self, nargs: dict[str, Any]) -> None:
        """The autotuner's hooks, as Triton runs them before the launch it keeps."""
        config = self.tuning.configs[self.index][0]
        if self.tuning.tuner is not None:
            self.tuning.tuner.pre_hook(nargs, reset_only=True)
        if getattr(config, "pre_hook", None) is not None:
            config.pre_hook(nargs)

    def tolerance(self, dtype: str) -> tuple[float, float] | None:
        return None if self.chosen else REORDER_TOLERANCES.get(dtype)


OPTIONS = ("num_warps", "num_stages", "num_ctas", "maxnreg")  # what a Config takes besides meta-parameters


def with_config(snapshot: Snapshot, fn, old: dict[str, Any], new: dict[str, Any]) -> Snapshot:
    """``snapshot`` launched with ``new`` meta-parameters and options in place of ``old``."""
    names = list(fn.arg_names)
    args = list(snapshot.args)
    kwargs = {k: v for k, v in snapshot.kwargs.items() if k not in old}
    for key, value in new.items():
        if key in names and names.index(key) < len(args):
            args[names.index(key)] = value
        else:
            kwargs[key] = value
    return dataclasses.replace(snapshot, args=tuple(args), kwargs=kwargs)


def parse_config(text: str, where: str = "--config") -> dict[str, Any]:
    """``BLOCK_M=128,BLOCK_N=64,num_warps=8`` -> {"BLOCK_M": 128, ...} (ints, floats, booleans, None)."""
    out: dict[str, Any] = {}
    for part in _parts(text):
        name, eq, value = part.partition("=")
        if not eq or not name.strip().isidentifier():
            raise WorkbenchError.at(where, f"expected NAME=VALUE, got {part!r} (e.g. 'BLOCK_M=128,num_warps=8')")
        out[name.strip()] = _value(value.strip())
    if not out:
        raise WorkbenchError.at(where, "no NAME=VALUE given (e.g. 'BLOCK_M=128,num_warps=8')")
    return out


def _parts(text: str) -> list[str]:
    return [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]


FIELD = "the Configs field"   # where a grid typed in the app comes from (its errors say so)


def split_grid(text: str) -> tuple[str, str | None]:
    """The app's config field less its ``grid=EXPR`` (no spaces in EXPR; the CLI's ``--grid``):
    the grid over the arguments and meta-parameters, where the script's grid is fixed numbers.
    (the rest, the expression or None); one that is more than arithmetic is refused here."""
    parts = text.split()
    grids = [p.partition("=")[2] for p in parts if p.startswith("grid=")]
    if len(grids) > 1 or "" in grids:
        raise WorkbenchError.at(FIELD, "give one grid=EXPR, with no spaces (e.g. grid=cdiv(M,BLOCK_M)*cdiv(N,BLOCK_N))")
    if grids:
        GridExpr(grids[0], FIELD)
    return " ".join(p for p in parts if not p.startswith("grid=")), (grids[0] if grids else None)


def parse_typed(text: str) -> tuple[list[dict[str, Any]], bool]:
    """What the app's config field holds: one config (``BLOCK_M=128,num_warps=8``), or a sweep
    (``BLOCK_M=64,128 num_warps=4,8``: a bare value after a comma makes it one). (configs, sweep?)"""
    sweep = any("=" not in part for part in _parts(text))
    return (parse_sweep(text, "sweep") if sweep else [parse_config(text, "config")]), sweep


def parse_sweep(text: str, where: str = "--sweep") -> list[dict[str, Any]]:
    """``BLOCK_M=64,128 num_warps=4,8`` -> every combination, the last name varying fastest."""
    axes = []
    for part in text.split():
        name, eq, values = part.partition("=")
        if not eq or not name.isidentifier() or not values:
            raise WorkbenchError.at(where, f"expected NAME=V1,V2,..., got {part!r} (e.g. 'BLOCK_M=64,128 num_warps=4,8')")
        axes.append([(name, _value(v)) for v in values.split(",") if v])
    if not axes:
        raise WorkbenchError.at(where, "nothing to sweep (e.g. 'BLOCK_M=64,128 num_warps=4,8')")
    return [dict(combo) for combo in itertools.product(*axes)]


def _value(text: str) -> Any:
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class GridExpr:
    """A grid given as an expression over the kernel's arguments and meta-parameters
    (``cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)``), for a script whose own grid is fixed numbers.
    Refused when made (``where``: the flag or the file it came from) if it is more than
    arithmetic (:mod:`.expr`)."""

    expr: str
    where: str = "--grid"
    parsed: Expr = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", parse(self.expr, self.where))

    def __call__(self, meta: dict[str, Any]) -> tuple[int, ...]:
        value = evaluate(self.parsed, {k: _plain(v) for k, v in meta.items()})
        dims = value if isinstance(value, tuple) else (value,)
        if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) or d.is_integer() for d in dims):
            raise WorkbenchError.at(self.where, f"the grid {self.expr!r} is {value!r}: "
                                                "give one to three whole numbers")
        return tuple(int(d) for d in dims)


def _plain(value: Any) -> Any:
    """A scalar argument as a number: the interpreter hands a grid its scalars as one-element
    tensors, whose ``//`` truncates (``cdiv(98432, 512)`` was 192)."""
    data = getattr(getattr(value, "handle", None), "data", None)
    is_ptr = getattr(getattr(value, "dtype", None), "is_ptr", None)
    if getattr(data, "size", 0) == 1 and is_ptr is not None and not is_ptr():
        return data.item()
    return value


def make_config(kwargs: dict[str, Any]):
    """A ``triton.Config`` from meta-parameters and options in one dict."""
    import triton
    meta = {k: v for k, v in kwargs.items() if k not in OPTIONS}
    return triton.Config(meta, **{k: v for k, v in kwargs.items() if k in OPTIONS})


def own_tuning(spec: KernelSpec, snapshot: Snapshot) -> Tuning:
    """A kernel that is not autotuned as a one-config tuning, so configs tried on it have a table."""
    declared = {p.name for p in spec.fn.params if p.is_constexpr}  # not the ints Triton specialized to 1
    meta = {k: v for k, v in spec.constexprs.items() if k in declared}
    config = make_config({**meta, **{k: spec.options[k] for k in OPTIONS if k in spec.options}})
    return Tuning(spec.kernel, None, None, {0: (config, spec.spec_id)}, chosen=0, chosen_spec=spec.spec_id)


def replays(capture: Capture) -> dict[str, tuple[Snapshot, ConfigReplay]]:
    """spec_id -> (its snapshot, how it replays) for every config of every tuning whose chosen
    launch was captured. A spec that has a snapshot of its own keeps it."""
    out: dict[str, tuple[Snapshot, ConfigReplay]] = {}
    for tuning in capture.tunings:
        chosen = capture.snapshots.get(tuning.chosen_spec or "")
        if chosen is None or tuning.chosen is None:
            continue
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        fn = next(s.fn for s in capture.specs if s.spec_id == tuning.chosen_spec)
        for index, (_, spec_id) in sorted(tuning.configs.items()):
            if spec_id in out:
                continue
            own = capture.snapshots.get(spec_id)
            snapshot = own if own is not None else dataclasses.replace(
                with_config(chosen, fn, chosen_kwargs, tuning.config_kwargs(index)), spec_id=spec_id)
            out[spec_id] = (snapshot, ConfigReplay(tuning, index))
    return out
