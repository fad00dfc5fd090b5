"""Configs the script does not list, tried on a kernel's captured inputs (``workbench run
--config``, a sweep, the app's Configs tab): compiled, replayed, verified against the chosen
config and timed; the ones that verify are remembered in ``tried.json`` for the next session."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

from workbench.compiler import compat
from workbench.compiler.files import atomic_write, os_reason
from workbench.model.diagnostics import WorkbenchError
from workbench.runtime import configs as cfg
from workbench.runtime.bench import BenchOptions
from workbench.runtime.capture.model import KernelSpec
from workbench.runtime.capture.snapshot import Snapshot
from workbench.runtime.configs import ConfigReplay
from workbench.session.versions import KernelState, RunResult


class ConfigTrials:
    """A session's tried configs: ``session`` is the :class:`~.session.Session` they run in."""

    def __init__(self, session) -> None:
        self.session = session
        self.pool = None  # a sweep's compile workers (prefetch.CompilePool), started by the first sweep
        self.prefetched: dict[str, Future] = {}  # spec_id -> its compile in a worker

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def restore(self) -> list[dict[str, Any]]:
        """The configs tried in an earlier session (``tried.json`` of the kernel they were tried
        on), added again to their tables: compiled (from the stage cache), not run."""
        entries = []
        for state in list(self.session.kernels.values()):
            if state.config is not None and not state.config.chosen:
                continue
            path = self.session.workspace.kernel_dir(state.spec.folder_name) / TRIED_FILE
            for item in read_tried(path, self.session.notes):
                try:   # (its grid is refused here, unevaluated, if it is more than arithmetic)
                    out = self.try_config(state.spec.spec_id, item["config"], grid=item.get("grid"), run=False,
                                          grid_from=str(path))
                except WorkbenchError as e:  # (its inputs were not captured this time)
                    self.session.notes.append(f"a config tried earlier is not listed again: {e}")
                    continue
                if out.get("kernel"):
                    entries.append(out["kernel"])
        return entries

    def try_config(self, spec: str, config: str | dict, bench_options: BenchOptions | None = None,
                   flops: str | None = None, atol: float | None = None, rtol: float | None = None,
                   grid: str | None = None, run: bool = True, grid_from: str = "--grid") -> dict[str, Any]:
        """A config the script does not list: compiled from Python with these meta-parameters and
        options, replayed on the captured inputs (the script's grid recomputed for it, or ``grid``,
        an expression over the arguments and meta-parameters, where the script's grid is fixed
        numbers, ``grid_from`` the flag or file it came from), verified against the chosen config,
        timed, and added to the kernel's config table. A config that does not compile or does not
        fit the card is a row that says so.

        One that compiles is kept like a captured specialization: its levels are the original of
        a folder of its own in the workspace (edits and versions start from it); one that also
        verifies is remembered in ``tried.json``, so the next session lists it again.
        ``run=False``: compiled and listed only (what reopening does)."""
        t0 = time.perf_counter()
        tuning, base, config_obj, snapshot = self._launch(self.session.state(spec), config, grid, grid_from)
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        # the same config tried again is the same row (its grid may be new)
        index = next((i for i in tuning.tried if tuning.config_kwargs(i) == config_obj.all_kwargs()),
                     max(tuning.configs) + 1)
        changed = {k for k, v in config_obj.kwargs.items() if chosen_kwargs.get(k) != v}
        fixed_grid = None if callable(snapshot.grid) or not changed else snapshot.grid
        # a row for a config that never got a specialization of its own is keyed by its index
        res = RunResult(base.spec.kernel, f"config-{index}", "original", "python", "error")
        try:
            new_spec = self._spec(base, snapshot)
        except Exception as e:  # noqa: BLE001 - a config the kernel refuses (a missing meta-parameter, ...)
            res.message = f"this config does not specialize: {one_line(e)}"
            return self._tried(tuning, index, config_obj, res.spec_id, res)
        new_spec.autotune = {"configs": len(tuning.configs) + 1, "config_index": index, "config": str(config_obj),
                             "chosen": False, "timed": self.session.gpu, "tried": True}
        res.spec_id = new_spec.spec_id
        tuning.configs[index] = (config_obj, new_spec.spec_id)
        existing = self.session.kernels.get(new_spec.spec_id)
        compile_ms, kept = 0.0, None
        if existing is not None and grid:   # (tried before with another grid)
            existing.snapshot = dataclasses.replace(snapshot, spec_id=new_spec.spec_id)
        if existing is None:
            c0 = time.perf_counter()
            ahead = self.prefetched.pop(new_spec.spec_id, None)
            if ahead is not None:   # compiled by a worker into the stage cache: the compile below hits
                wait([ahead])
            try:
                result = self.session.compiler.compile_spec(new_spec, with_sass=False)
            except WorkbenchError as e:
                res.message = f"this config does not compile: {e.diagnostics[0].message if e.diagnostics else e}"
                return self._tried(tuning, index, config_obj, new_spec.spec_id, res)
            existing = self.session.kernels[new_spec.spec_id] = KernelState(
                new_spec, dataclasses.replace(snapshot, spec_id=new_spec.spec_id),
                config=ConfigReplay(tuning, index))
            self.session.capture.specs.append(new_spec)
            kept = self.session.kernel_entry(existing, result, {"spec": new_spec.to_json(), "launches": []})
            compile_ms = (time.perf_counter() - c0) * 1e3
        if not run:
            res.status, res.message = "compiled-only", "tried in an earlier session: not run yet"
            return self._tried(tuning, index, config_obj, new_spec.spec_id, res, kept)
        try:
            res = self.session.run(new_spec.spec_id, "original", bench_options, flops, atol, rtol)
        except WorkbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - OutOfResources (shared memory, registers) at load time
            if type(e).__name__ != "OutOfResources":
                raise
            res.message = f"this config does not fit the card: {one_line(e)}"
        if fixed_grid is not None:   # (what to do where it was asked: a flag, or the app's field)
            how = (f"give the grid as an expression ({grid_from} 'cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)')"
                   if grid_from.startswith("--") else "type the grid as an expression, "
                                                      "grid=cdiv(M,BLOCK_M)*cdiv(N,BLOCK_N) after the config")
            res.message = (res.message + "; " if res.message else "") + (
                f"the script's grid is fixed at {tuple(fixed_grid)}, whatever {', '.join(sorted(changed))} is: {how}")
        if res.status in ("ok", "compiled-only"):   # (one that does not verify is not kept)
            remember_tried(self.session.workspace.kernel_dir(base.spec.folder_name) / TRIED_FILE,
                            config_obj.all_kwargs(), grid, self.session.notes)
        res.times = dict(res.times, compile_ms=compile_ms, try_ms=(time.perf_counter() - t0) * 1e3)
        return self._tried(tuning, index, config_obj, new_spec.spec_id, res, kept)

    def prefetch(self, spec: str, configs: list[dict], grid: str | None = None) -> dict[str, Any]:
        """Start the compiles of a sweep's configs in worker processes (:mod:`.prefetch`), so
        that ``try_config`` on each finds its levels compiled: the front end of each here, the
        stages below TTIR there. A config that fails is left for ``try_config`` to report."""
        state = self.session.state(spec)
        todo = []
        for config in configs:
            try:
                _, base, _, snapshot = self._launch(state, config, grid)
                new_spec = self._spec(base, snapshot)
                if new_spec.spec_id not in self.session.kernels and new_spec.spec_id not in self.prefetched:
                    todo.append(new_spec)
            except Exception:  # noqa: BLE001 - said by try_config, at its turn
                continue
        if len(todo) < 2:   # one config: nothing to overlap
            return {"prefetching": 0}
        if self.pool is None:
            from workbench.runtime.prefetch import CompilePool
            self.pool = CompilePool(compat.target_str(self.session.compiler.target))
        started = 0
        for new_spec in todo:
            try:
                front = self.session.compiler.compile_spec(new_spec, with_sass=False, until="ttir")
            except WorkbenchError:
                continue
            self.prefetched[new_spec.spec_id] = self.pool.submit(front.levels["ttir"], front.metadata)
            started += 1
        return {"prefetching": started, "workers": self.pool.workers}

    def _launch(self, state: KernelState, config: str | dict, grid: str | None, grid_from: str = "--grid"):
        """(tuning, the chosen config's state, the Config, its snapshot) for ``config`` tried on
        the kernel of ``state``: what it does not say is the chosen config's."""
        if state.config is None:
            if state.snapshot is None:
                raise WorkbenchError.at(str(self.session.script), f"no inputs were captured for {state.spec.kernel}: "
                                                          "nothing to try a config on")
            state.config = ConfigReplay(cfg.own_tuning(state.spec, state.snapshot), 0)
            self.session.capture.tunings.append(state.config.tuning)
        tuning = state.config.tuning
        base = self.session.kernels[tuning.chosen_spec]
        wanted = cfg.parse_config(config) if isinstance(config, str) else dict(config)
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        config_obj = cfg.make_config({**chosen_kwargs, **wanted})
        snapshot = cfg.with_config(base.snapshot, base.spec.fn, chosen_kwargs, config_obj.all_kwargs())
        if grid:
            snapshot = dataclasses.replace(snapshot, grid=cfg.GridExpr(grid, grid_from))
        return tuning, base, config_obj, snapshot

    @staticmethod
    def _spec(base: KernelState, snapshot: Snapshot) -> KernelSpec:
        from workbench.runtime import launch
        args, kwargs, _ = snapshot.fresh_args()
        new_spec = launch.specialization_of(base.spec, args, kwargs, snapshot.grid)
        new_spec.fn = base.spec.fn
        return new_spec

    def _tried(self, tuning, index: int, config, spec_id: str, res: RunResult,
               kept: dict[str, Any] | None = None) -> dict[str, Any]:
        tuning.configs[index] = (config, spec_id)
        if index not in tuning.tried:
            tuning.tried.append(index)
        return {"result": res.to_json(), "tuning": tuning.to_json(),
                "tuning_index": self.session.capture.tunings.index(tuning), "kernel": kept}


TRIED_FILE = "tried.json"  # in the folder of the kernel configs were tried on


def read_tried(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """What ``remember_tried`` kept; a damaged file is said once and read as empty."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("config"), dict)
                                                  for i in items):
            raise ValueError("expected a list of {config, grid}")
        return items
    except FileNotFoundError:
        return []
    except (OSError, ValueError, UnicodeDecodeError) as e:
        why = os_reason(e) if isinstance(e, OSError) else e
        notes.append(f"{path}: the configs tried earlier cannot be read ({why}): they are not listed again")
        return []


def remember_tried(path: Path, config: dict[str, Any], grid: str | None, notes: list[str]) -> None:
    """Kept once per config, with the grid it was last tried with."""
    config = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}
    items = read_tried(path, notes)
    if {"config": config, "grid": grid} in items:
        return
    items = [i for i in items if i["config"] != config] + [{"config": config, "grid": grid}]
    try:
        atomic_write(path, json.dumps(items, indent=1))
    except OSError as e:
        notes.append(f"{path}: cannot keep the config tried ({os_reason(e)}): the next session will not list it")


def one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
