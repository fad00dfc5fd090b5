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
from dataclasses import dataclass
from typing import Any

from .capture import Capture, KernelSpec, Snapshot, Tuning

# (atol, rtol) by dtype for one config against another: another tile shape sums in another order
REORDER_TOLERANCES = {"float64": (1e-10, 1e-9), "float32": (1e-5, 1e-4), "float16": (1e-3, 4e-3),
                      "bfloat16": (1e-2, 3e-2)}


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
        self.tuning.tuner.pre_hook(nargs, reset_only=True)
        if getattr(config, "pre_hook", None) is not None:
            config.pre_hook(nargs)

    def tolerance(self, dtype: str) -> tuple[float, float] | None:
        return None if self.chosen else REORDER_TOLERANCES.get(dtype)


def replays(capture: Capture) -> dict[str, tuple[Snapshot, ConfigReplay]]:
    """spec_id -> (its snapshot, how it replays) for every config of every tuning whose chosen
    launch was captured. A spec that has a snapshot of its own keeps it."""
    out: dict[str, tuple[Snapshot, ConfigReplay]] = {}
    for tuning in capture.tunings:
        chosen = capture.snapshots.get(tuning.chosen_spec or "")
        if chosen is None or tuning.chosen is None:
            continue
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        base = {k: v for k, v in chosen.kwargs.items() if k not in chosen_kwargs}
        for index, (_, spec_id) in sorted(tuning.configs.items()):
            if spec_id in out:
                continue
            own = capture.snapshots.get(spec_id)
            snapshot = own if own is not None else dataclasses.replace(
                chosen, spec_id=spec_id, kwargs={**base, **tuning.config_kwargs(index)})
            out[spec_id] = (snapshot, ConfigReplay(tuning, index))
    return out


def describe(spec: KernelSpec, tuning: Tuning, index: int) -> str:
    """A config in the words of its Config: meta-parameters, then warps and stages."""
    kwargs = tuning.config_kwargs(index)
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None)
