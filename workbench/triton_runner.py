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
workbench's cache; ``autotune_cubin_dir`` a ``cubin_dir`` with the options its JSON recorded.
The dump keywords (``dump_tensor``, ``dump_value``, ``dump_grid``) and ``start_pass`` are said
in one line, with the workbench command that does the same. See docs/triton_runner.md.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import types
from pathlib import Path
from typing import Any

from .api import WorkbenchJITFunction, jit as _workbench_jit
from workbench.model.diagnostics import WorkbenchError
from workbench.model.level_files import SUFFIX
from .language import dump as _language_dump

SRC_KWARGS = {f"{level}_src": level for level in ("ttir", "ttgir", "llir", "ptx", "amdgcn")}
INSTEAD = {
    "dump_tensor": "dump from inside the kernel with `workbench dump SCRIPT --level python` (it allocates the "
                   "buffer; language.dump() calls are kept)",
    "dump_value": "dump an SSA value with `workbench dump SCRIPT --level ttgir --value %NAME`",
    "dump_grid": "choose the program with `workbench dump SCRIPT --pid X,Y,Z`",
    "start_pass": "restart after a pass with `workbench passes SCRIPT` (or the app's Passes tab)",
}


def get_file_dir(file: str) -> str:
    """The folder of ``file`` (their scripts pass ``__file__``): where its level files are."""
    return os.path.dirname(os.path.abspath(file))


class RunnerJITFunction(WorkbenchJITFunction):
    """``@triton_runner.jit``: their launch keywords, translated to ours at each launch."""

    def __getitem__(self, grid):
        launch = super().__getitem__(grid)
        return lambda *args, **kwargs: launch(*args, **self.translate(kwargs))

    def warmup(self, *args, grid, **kwargs):
        return super().warmup(*args, grid=grid, **self.translate(kwargs))

    def translate(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Their keywords -> ours (``kwargs`` as a launch got them)."""
        if not any(k in kwargs for k in (*SRC_KWARGS, *INSTEAD, "metadata_json", "autotune_cubin_dir")):
            return kwargs
        for key, how in INSTEAD.items():
            if key in kwargs:
                raise WorkbenchError.at(self._where(), f"{key}= is triton-runner's; the workbench does not take it "
                                                       f"at the launch: {how}")
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


def _unsupported_dump(name: str):
    def fn(val, offset=0, _semantic=None, _generator=None):
        raise WorkbenchError.at(name, f"triton_runner.language.{name} is not supported: dump(x) every program with "
                                      "`workbench dump SCRIPT --level python --pid all`")
    fn.__triton_builtin__ = True
    fn.__name__ = name
    return fn


language = types.ModuleType("workbench.triton_runner.language", "triton_runner.language: dump() and its variants")
# their dump(val, offset, dump_grid) is ours, dump(x, offset, pid), positionally
language.dump = _language_dump
language.dump_boundary = _unsupported_dump("dump_boundary")
language.dump_grids = _unsupported_dump("dump_grids")


def _testing() -> types.ModuleType:
    import triton.testing as tt
    mod = types.ModuleType("workbench.triton_runner.testing", "triton_runner.testing: Triton's own")
    for name in ("Benchmark", "Mark", "assert_close", "do_bench", "do_bench_cudagraph", "perf_report"):
        setattr(mod, name, getattr(tt, name))
    return mod


testing = _testing()
__all__ = ["jit", "get_file_dir", "configure_jit_backend", "restore_jit_backend", "language", "testing"]
