"""``@workbench.jit``: ``@triton.jit`` plus launching from any level.

```python
@workbench.jit
def matmul_kernel(...): ...

matmul_kernel[grid](a, b, c, M, N, K, ...)                         # exactly triton.jit
matmul_kernel[grid](a, b, c, M, N, K, ..., ttgir_dir="levels/")    # from an (edited) TTGIR
matmul_kernel[grid](..., ptx_dir=DIR)  # ttir_dir / llir_dir / cubin_dir likewise
matmul_kernel[grid](..., version_dir=".workbench/matmul/matmul_kernel-ef1d2d00/versions/003")
matmul_kernel.save_levels("levels/", a, b, c, M, N, K, ...)        # every level for these arguments
```

Nothing is copied by hand: the specialization comes from the arguments, the metadata from
the JSON beside the level file or, when there is none, from compiling the Python kernel for
the same arguments. Each (level file, specialization) compiles once through the workbench's
content-keyed stage cache, and a line on stderr says whether it compiled or hit the cache
and where the levels are saved. After that a launch goes through Triton's own fast path:
it costs what a plain ``triton.jit`` launch costs.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from triton.runtime.jit import JITFunction

from .core.levels import IR_LEVELS, SUFFIX

LEVEL_KWARGS = {f"{level}_dir": level for level in IR_LEVELS} | {"version_dir": None}
_LEVEL_KEYS = frozenset(LEVEL_KWARGS)


class WorkbenchJITFunction(JITFunction):
    """A JITFunction whose launches may name a level to start from."""

    def __init__(self, fn, **kwargs) -> None:
        super().__init__(fn, **kwargs)
        self._variants: dict[tuple[str, str], LevelJITFunction] = {}
        self._by_value: dict[tuple[str, Any], LevelJITFunction] = {}

    def __getitem__(self, grid):
        # The plain path is Triton's own launcher lambda plus one dict test; a level launch
        # finds its variant by the exact keyword value it was given, then runs Triton's path.
        def launch(*args, **kwargs):
            if kwargs and not _LEVEL_KEYS.isdisjoint(kwargs):
                return self._level_launch(grid, args, kwargs)
            return self.run(grid=grid, warmup=False, *args, **kwargs)
        return launch

    def _level_launch(self, grid, args, kwargs):
        chosen = [k for k in LEVEL_KWARGS if k in kwargs]
        if len(chosen) > 1:
            raise TypeError(f"{self.__name__}: name one level to launch from, not {', '.join(chosen)}")
        where = kwargs.pop(chosen[0])
        variant = self._by_value.get((chosen[0], where)) if isinstance(where, (str, Path)) else None
        if variant is None:
            variant = self._variant(LEVEL_KWARGS[chosen[0]], str(where))
            if isinstance(where, (str, Path)):
                self._by_value[(chosen[0], where)] = variant
        return variant.run(grid=grid, warmup=False, *args, **kwargs)

    def _variant(self, level: str | None, folder: str) -> "LevelJITFunction":
        key = (level or "version", os.path.abspath(folder))
        variant = self._variants.get(key)
        if variant is None:
            variant = self._variants[key] = LevelJITFunction.of(self, level, Path(key[1]))
        return variant

    def save_levels(self, out: str | Path, *args, **kwargs) -> dict[str, Path]:
        """Compile the Python kernel for these arguments and write every level (and the
        metadata JSON) into ``out``; returns the paths."""
        from .core.launch import specialization_of
        spec = specialization_of(_SpecOf(self), args, kwargs, grid=(1,))
        result = _compiler().compile_python(self, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                            spec.options, with_sass=True)
        paths = result.write(out, self.__name__)
        _say(f"{self.__name__}: every level for these arguments written to {out}")
        return paths


class LevelJITFunction(WorkbenchJITFunction):
    """The same kernel, compiled from a level file: its own Triton kernel cache, so a launch
    after the first is Triton's launch and nothing more."""

    level: str | None
    folder: Path

    @classmethod
    def of(cls, parent: WorkbenchJITFunction, level: str | None, folder: Path) -> "LevelJITFunction":
        variant = cls.__new__(cls)
        variant.__dict__.update(parent.__dict__)
        variant._variants, variant._by_value = {}, {}
        variant.level, variant.folder = level, folder
        variant.device_caches = defaultdict(variant.create_binder)
        return variant

    def _do_compile(self, key, signature, device, constexprs, options, attrs, warmup):
        from triton.compiler.compiler import CompiledKernel
        from .core import compat
        from .core import metadata as md
        from .core.errors import WorkbenchError
        kernel_cache, _, target, backend, _ = self.device_caches[device]
        level, path = self._level_file()
        t0 = time.perf_counter()
        compiler = _compiler(target)
        opts = {k: v for k, v in vars(options).items() if v is not None}
        meta_path = md.find_beside(path)
        python = None
        if meta_path is None or level in ("ttir", "ttgir"):
            python = compiler.compile_python(self, signature, constexprs, attrs, opts, with_sass=False)
            if level in ("ttir", "ttgir"):
                _check_signature(level, path, python.levels[level], self.__name__)
        base = md.load(meta_path) if meta_path else python.metadata_json()
        try:
            result = compiler.compile_file(path, base, with_sass=False)
        except WorkbenchError as e:
            raise WorkbenchError(e.diagnostics) from None
        out = compiler.cache.root / "kernels" / f"{self.__name__}-{result.metadata['hash'][:12]}" \
            if compiler.cache.root else Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-kernels" / \
            f"{self.__name__}-{result.metadata['hash'][:12]}"
        files = result.write(out, self.__name__)
        src = compat.ast_source(self, signature, constexprs, attrs)
        kernel = CompiledKernel(src, {f"{self.__name__}.json": str(files["json"]),
                                      f"{self.__name__}.cubin": str(files["cubin"])}, result.metadata["hash"])
        kernel_cache[key] = kernel
        ms = (time.perf_counter() - t0) * 1e3
        how = "cache hit" if result.fully_cached else f"compiled in {ms:.0f} ms"
        _say(f"{self.__name__} from {level.upper()} {path}: {how}; levels saved in {out}")
        return kernel

    def _level_file(self) -> tuple[str, Path]:
        from .core.errors import WorkbenchError
        folder = self.folder
        if not folder.is_dir():
            raise WorkbenchError.at(str(folder), "no such folder")
        level = self.level
        if level is None:  # a workspace version: the level the user edited
            import json
            info = folder / "version.json"
            if not info.is_file():
                raise WorkbenchError.at(str(folder), "not a workspace version folder (no version.json)")
            level = json.loads(info.read_text())["level"]
            if level == "python":
                raise WorkbenchError.at(str(folder), "this version is a Python edit: run the edited script instead")
        named = folder / f"{self.__name__}{SUFFIX[level]}"
        if named.is_file():
            return level, named
        found = sorted(folder.glob(f"*{SUFFIX[level]}"))
        if len(found) != 1:
            raise WorkbenchError.at(str(folder), f"expected {named.name} (or exactly one {SUFFIX[level]} file) "
                                                 f"in the folder; found {len(found)}")
        return level, found[0]


class _SpecOf:
    """The bits of a KernelSpec that ``specialization_of`` reads."""

    def __init__(self, fn) -> None:
        self.fn, self.file, self.line = fn, None, None


def _check_signature(level: str, path: Path, expected: str, name: str) -> None:
    """A TTIR/TTGIR level bakes in the specialization (argument types, divisibility, ==1):
    refuse a level file compiled for other arguments."""
    import re
    from .core.errors import WorkbenchError
    pattern = re.compile(r"tt\.func\s+(?:public\s+)?@" + re.escape(name) + r"\((.*?)\)\s*(?:attributes|\{)", re.S)
    text = path.read_text()
    got, want = pattern.search(text), pattern.search(expected)
    if got is None or want is None:
        return
    clean = lambda s: re.sub(r"loc\((?:[^()]|\([^()]*\))*\)|\s+", "", s)  # noqa: E731
    if clean(got.group(1)) != clean(want.group(1)):
        line = text[:got.start()].count("\n") + 1
        raise WorkbenchError.at(str(path), f"this {level.upper()} was compiled for other arguments: its signature "
                                           f"is ({clean(got.group(1))}), these arguments give "
                                           f"({clean(want.group(1))}); refusing to launch", line)


_COMPILERS: dict[str, Any] = {}


def _compiler(target=None):
    from .core import compat
    from .core.cache import StageCache, default_dir
    from .core.pipeline import Compiler
    target = target or compat.current_gpu_target() or "cuda:90"
    key = compat.target_str(compat.parse_target(target))
    if key not in _COMPILERS:
        _COMPILERS[key] = Compiler(target, StageCache(default_dir()))
    return _COMPILERS[key]


def _say(text: str) -> None:
    if os.environ.get("WORKBENCH_QUIET") not in ("1", "true"):
        print(f"workbench: {text}", file=sys.stderr)


def jit(fn=None, **kwargs):
    """Drop-in for ``triton.jit`` (same keyword arguments). Given a kernel already decorated
    with ``@triton.jit``, returns the same kernel, launchable from any level."""
    from triton import knobs

    def decorator(f):
        if isinstance(f, JITFunction):
            for name in ("version", "do_not_specialize", "do_not_specialize_on_alignment", "debug", "noinline",
                         "launch_metadata"):
                if getattr(f, name, None) is not None:
                    kwargs.setdefault(name, getattr(f, name))
            f = f.fn
        if knobs.runtime.interpret:
            from triton.runtime.interpreter import InterpretedFunction
            return InterpretedFunction(f, **kwargs)
        return WorkbenchJITFunction(f, **kwargs)
    return decorator(fn) if fn is not None else decorator
