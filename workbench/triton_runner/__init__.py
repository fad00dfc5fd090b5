"""triton-runner's API on the workbench: its users switch by changing one import.

```python
import workbench.triton_runner as triton_runner      # was: import triton_runner

@triton_runner.jit
def matmul_kernel(...): ...

matmul_kernel[grid](..., ttgir_dir=triton_runner.get_file_dir(__file__))
matmul_kernel[grid](..., ptx_src=text, metadata_json=meta)
```

Each of its launch keywords maps onto ours (:mod:`workbench.api`): ``<level>_dir`` is the same;
``<level>_src`` (the text, or a path) and ``metadata_json`` become a level folder in the
workbench's cache; ``autotune_cubin_dir`` a ``cubin_dir`` with the options its JSON recorded;
``dump_tensor`` (with ``dump_value``, ``dump_grid``) the workbench's dumps
(:mod:`.dump`); ``start_pass`` a restart after that pass (:mod:`.passes`). Its submodules
``language``, ``testing``, ``torch_utils`` and ``color_print`` are real modules, so
``import workbench.triton_runner.language as dl`` works. See docs/triton_runner.md.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from workbench.api import LEVEL_KWARGS, WorkbenchJITFunction, jit as _workbench_jit
from workbench.model.diagnostics import WorkbenchError
from workbench.model.level_files import SUFFIX

from . import color_print, language, testing, torch_utils
from . import dump as _dump

SRC_KWARGS = {f"{level}_src": level for level in ("ttir", "ttgir", "llir", "ptx", "amdgcn")}
RUNNER_KWARGS = (*SRC_KWARGS, *_dump.KEYWORDS, "metadata_json", "autotune_cubin_dir", "start_pass")


def get_file_dir(file: str) -> str:
    """The folder of ``file`` (their scripts pass ``__file__``): where its level files are."""
    return os.path.dirname(os.path.abspath(file))


class RunnerJITFunction(WorkbenchJITFunction):
    """``@triton_runner.jit``: their launch keywords, translated to ours at each launch."""

    def __getitem__(self, grid):
        launch = super().__getitem__(grid)

        def call(*args, **kwargs):
            kwargs = self.translate(kwargs, args, grid)
            if any(k in kwargs for k in _dump.KEYWORDS):
                return _dump.launch(self, grid, args, kwargs, self._named_level(kwargs))
            return launch(*args, **kwargs)
        return call

    def run(self, *args, grid, warmup, **kwargs):
        """(An autotuner launches through ``run``: the same keywords.)"""
        kwargs = self.translate(kwargs, args, grid)
        if not warmup and any(k in kwargs for k in _dump.KEYWORDS):
            return _dump.launch(self, grid, args, kwargs, self._named_level(kwargs))
        return super().run(*args, grid=grid, warmup=warmup, **kwargs)

    def warmup(self, *args, grid, **kwargs):
        if any(k in kwargs for k in _dump.KEYWORDS):
            raise WorkbenchError.at(self._where(), "dump_tensor= goes with a launch (kernel[grid](...)), which "
                                                   "writes the dump into it; warmup() launches nothing")
        return super().warmup(*args, grid=grid, **self.translate(kwargs, args, grid))

    def _do_compile(self, key, signature, device, constexprs, options, attrs, warmup):
        python = getattr(self._level_request, "value", None) is None
        kernel = super()._do_compile(key, signature, device, constexprs, options, attrs, warmup)
        if python:
            _say_saved(kernel)
        return kernel

    def _compile_from_level(self, *args, **kwargs):
        kernel = super()._compile_from_level(*args, **kwargs)
        _say_saved(kernel)
        return kernel

    def _named_level(self, kwargs: dict[str, Any]) -> tuple[str, Path] | None:
        """The level file a launch's ``<level>_dir=`` names (the launch keeps the keyword out)."""
        chosen = [k for k in LEVEL_KWARGS if k in kwargs and LEVEL_KWARGS[k]]
        if not chosen:
            return None
        return self._level_file(LEVEL_KWARGS[chosen[0]], Path(kwargs.pop(chosen[0])))

    def translate(self, kwargs: dict[str, Any], args: tuple = (), grid=(1,)) -> dict[str, Any]:
        """Their keywords -> ours (``kwargs`` as a launch with ``args`` got them); the dump
        keywords stay."""
        if not any(k in kwargs for k in RUNNER_KWARGS):
            return kwargs
        out = dict(kwargs)
        meta = out.pop("metadata_json", None)
        if hasattr(meta, "_asdict"):   # a CompiledKernel's metadata
            meta = meta._asdict()
        chosen = [k for k in SRC_KWARGS if k in out]
        if len(chosen) > 1:
            raise TypeError(f"{self.__name__}: name one level to launch from, not {', '.join(chosen)}")
        if chosen:
            level = SRC_KWARGS[chosen[0]]
            out[f"{level}_dir"] = self._src_folder(level, out.pop(chosen[0]), meta)
        elif meta is not None:
            raise WorkbenchError.at(self._where(), "metadata_json= goes with a *_src= level (a *_dir= folder has "
                                                   "its JSON beside the level file)")
        if "autotune_cubin_dir" in out:
            folder = out.pop("autotune_cubin_dir")
            out.update(self._autotuned(folder, out))
            out["cubin_dir"] = folder
        if "start_pass" in out:
            from .passes import restart_folder
            start_pass = out.pop("start_pass")
            out = restart_folder(self, start_pass, args, out, grid, self._where())
        return out

    def _src_folder(self, level: str, src: str, meta: dict | None) -> Path:
        """A folder in the workbench's cache holding the level text (and the metadata) under the
        kernel's name, keyed on their content."""
        from workbench.compiler.cache import default_dir
        text = Path(src).read_text() if "\n" not in src and os.path.isfile(src) else src
        if level in ("llir", "ptx", "amdgcn") and not meta:
            raise WorkbenchError.at(self._where(), f"{level}_src= needs metadata_json= (the launch metadata: "
                                                   "num_warps, shared, name, ...), as with triton-runner")
        blob = json.dumps(meta, sort_keys=True, default=str) if meta else ""
        key = hashlib.sha256((level + "\0" + text + "\0" + blob).encode()).hexdigest()[:16]
        root = default_dir() or Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-cache"
        folder = Path(root) / "triton_runner_src" / f"{self.__name__}-{key}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.__name__}{SUFFIX[level]}").write_text(text)
        if meta:
            (folder / f"{self.__name__}.json").write_text(blob)
        return folder

    def _autotuned(self, folder: str, kwargs: dict) -> dict[str, Any]:
        """What triton-runner reads from a tuned cubin's JSON: the options, and the constexprs its
        ``kernel_signature`` records as launch keywords (parsed, never evaluated)."""
        path = Path(folder) / f"{self.__name__}.json"
        if not (path.is_file() and (Path(folder) / f"{self.__name__}.cubin").is_file()):
            raise WorkbenchError.at(str(folder), f"autotune_cubin_dir= needs {self.__name__}.json and "
                                                 f"{self.__name__}.cubin in the folder")
        from workbench.compiler import metadata as md
        meta = md.load(path)
        out = {k: meta[k] for k in ("num_warps", "num_stages", "num_ctas", "maxnreg")
               if meta.get(k) is not None and k not in kwargs}
        md.split_warps(out)   # a warp-specialized total is no option: the cubin and its JSON carry it
        try:
            signature = ast.literal_eval(meta.get("kernel_signature") or "()")
        except (ValueError, SyntaxError):
            raise WorkbenchError.at(str(path), "kernel_signature is not a Python literal") from None
        for entry in signature:
            if isinstance(entry, (tuple, list)) and len(entry) == 4 and entry[3] and entry[0] not in kwargs:
                out[entry[0]] = entry[2]
        return out

    def _where(self) -> str:
        code = getattr(self.fn, "__code__", None)
        return f"{code.co_filename}:{code.co_firstlineno}" if code else self.__name__


def jit(fn=None, **kwargs):
    """``@triton_runner.jit``: ``@workbench.jit`` with their launch keywords."""
    def decorator(f):
        made = _workbench_jit(f, **kwargs)
        if type(made) is WorkbenchJITFunction:
            made.__class__ = RunnerJITFunction
        return made
    return decorator(fn) if fn is not None else decorator


_saved: dict[str, Any] = {}


def configure_jit_backend() -> None:
    """``@triton.jit`` means ``@triton_runner.jit`` from now on (kernels of libraries imported
    later, too), as theirs does; :func:`restore_jit_backend` undoes it."""
    import triton
    _saved.setdefault("jit", triton.jit)
    triton.jit = jit


def restore_jit_backend() -> None:
    import triton
    if "jit" in _saved:
        triton.jit = _saved.pop("jit")


def autotune(configs, key, **kwargs):
    """``@triton_runner.autotune``: Triton's own (the workbench captures its trials and choice)
    over the kernel, launchable with their keywords."""
    from triton.runtime.autotuner import autotune as triton_autotune
    return triton_autotune(configs, key, **kwargs)


def configure_autotune_backend() -> None:
    """``@triton.autotune`` means ``@triton_runner.autotune`` until :func:`restore_autotune_backend`."""
    import triton
    _saved.setdefault("autotune", triton.autotune)
    triton.autotune = autotune


def restore_autotune_backend() -> None:
    import triton
    if "autotune" in _saved:
        triton.autotune = _saved.pop("autotune")


def _say_saved(kernel) -> None:
    """Theirs says where each compiled kernel's files are, on stdout: so do we."""
    group = getattr(kernel, "metadata_group", None) or {}
    path = next((p for name, p in group.items() if name.endswith(".json")), None)
    if path:
        color_print.blue_print(f"[Triton Runner] Triton kernel saved at {os.path.dirname(path)}")


__all__ = ["jit", "get_file_dir", "configure_jit_backend", "restore_jit_backend", "autotune",
           "configure_autotune_backend", "restore_autotune_backend", "language", "testing", "torch_utils",
           "color_print"]
