"""``@workbench.jit``: ``@triton.jit`` plus launching from any level.

```python
@workbench.jit
def matmul_kernel(...): ...

matmul_kernel[grid](a, b, c, M, N, K, ...)                         # exactly triton.jit
matmul_kernel[grid](a, b, c, M, N, K, ..., ttgir_dir="levels/")    # from an (edited) TTGIR
matmul_kernel[grid](..., ptx_dir=DIR)  # ttir_dir / llir_dir / cubin_dir likewise
matmul_kernel[grid](..., version_dir=".workbench/matmul/matmul_kernel-ef1d2d00/versions/003")
matmul_kernel.save_levels("levels/", a, b, c, M, N, K, ...)        # every level for these arguments
@workbench.jit(launcher="own")   # remembered launches through the workbench's own launcher (opt-in; or
                                 # WORKBENCH_LAUNCHER=own): workbench.runtime.launcher
```

Nothing is copied by hand: the specialization comes from the arguments, the metadata from
the JSON beside the level file or, when there is none, from compiling the Python kernel for
the same arguments. Each (level file, specialization) compiles once through the workbench's
content-keyed stage cache, and a line on stderr says whether it compiled or hit the cache
and where the levels are saved. After that a launch with arguments that specialize as a
launch before did skips Triton's Python binding (``workbench.runtime.fastlaunch``): it costs
well under what a plain ``triton.jit`` launch costs, with the same checks.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from triton.runtime.interpreter import InterpretedFunction
from triton.runtime.jit import JITFunction

from workbench.compiler import compat
from workbench.runtime.fastlaunch import FastLaunch
from workbench.model.level_files import IR_LEVELS, SUFFIX

LEVEL_KWARGS = {f"{level}_dir": level for level in IR_LEVELS} | {"version_dir": None}


class WorkbenchJITFunction(JITFunction):
    """A JITFunction whose launches may name a level to start from.

    A ``ttgir_dir=...`` keyword travels through Triton's binder like a compile option, so it
    is part of Triton's kernel cache key (and of fastlaunch's fingerprint) and a launch from a
    level hits the caches exactly as a plain launch does. Only on a miss
    does the keyword matter: ``_pack_args`` takes it out (Triton would refuse it) and
    ``_do_compile`` compiles from the level file instead of the Python source.
    """

    def __init__(self, fn, launcher: str | None = None, **kwargs) -> None:
        super().__init__(fn, **kwargs)
        self._level_request = threading.local()
        self._fast = None
        self.launcher = launcher  # "own", "triton", or None: WORKBENCH_LAUNCHER decides

    def __getitem__(self, grid):
        """``kernel[grid](...)``: Triton's launch, through fastlaunch's cache where the Triton
        release is one it mirrors."""
        fast = self._fast
        if fast is None:
            from workbench.compiler import compat
            if not _driver_active():   # no GPU, no stand-in (yet): say what a level launch did
                return lambda *args, **kwargs: self._launch_without_driver(grid, args, kwargs)
            fast = self._fast = FastLaunch(self) if compat.fast_launch_supported() else False
        return fast.bind(grid) if fast else super().__getitem__(grid)

    def _launch_without_driver(self, grid, args: tuple, kwargs: dict):
        if any(k in LEVEL_KWARGS for k in kwargs):
            raise self.compile_without_gpu(args, kwargs)
        return super().__getitem__(grid)(*args, **kwargs)   # (Triton says there is no driver)

    def compile_without_gpu(self, args: tuple, kwargs: dict) -> Exception:
        """Compile the level a launch names for the default target, and the error that says
        running it needs a GPU (where there is none: plain Python, the interpreter)."""
        from workbench.model.diagnostics import LevelNeedsGPU
        from workbench.runtime.launch import specialization_of
        chosen = [k for k in LEVEL_KWARGS if k in kwargs]
        if len(chosen) > 1:
            return TypeError(f"{self.__name__}: name one level to launch from, not {', '.join(chosen)}")
        rest = {k: v for k, v in kwargs.items() if k != chosen[0]}
        level, path = self._level_file(LEVEL_KWARGS[chosen[0]], Path(kwargs[chosen[0]]))
        spec = specialization_of(_SpecOf(self), args, rest, grid=(1,))
        compiler = shared_compiler()
        self._compile_from_level(level, path.parent, compiler.target, spec.signature, spec.raw_constexprs,
                                 _Options(spec.options), spec.raw_attrs)
        return LevelNeedsGPU(f"{self.__name__} from {level.upper()} {path}: compiled for "
                             f"{compat.target_str(compiler.target)}; running it needs a GPU, and this machine has none")

    def _pack_args(self, backend, kwargs, bound_args, specialization, options):
        chosen = [k for k in LEVEL_KWARGS if k in kwargs]
        if len(chosen) > 1:
            raise TypeError(f"{self.__name__}: name one level to launch from, not {', '.join(chosen)}")
        self._level_request.value = (LEVEL_KWARGS[chosen[0]], Path(kwargs[chosen[0]])) if chosen else None
        if chosen:
            kwargs = {k: v for k, v in kwargs.items() if k != chosen[0]}
        return super()._pack_args(backend, kwargs, bound_args, specialization, options)

    def _do_compile(self, key, signature, device, constexprs, options, attrs, warmup):
        request = getattr(self._level_request, "value", None)
        self._level_request.value = None
        if request is None:
            return super()._do_compile(key, signature, device, constexprs, options, attrs, warmup)
        kernel_cache, _, target, _, _ = self.device_caches[device]
        kernel = self._compile_from_level(request[0], request[1], target, signature, constexprs, options, attrs)
        kernel_cache[key] = kernel
        return kernel

    def save_levels(self, out: str | Path, *args, **kwargs) -> dict[str, Path]:
        """Compile the Python kernel for these arguments and write every level (and the
        metadata JSON) into ``out``; returns the paths."""
        from workbench.runtime.launch import specialization_of
        spec = specialization_of(_SpecOf(self), args, kwargs, grid=(1,))
        result = shared_compiler().compile_python(self, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                            spec.options, with_sass=True)
        paths = result.write(out, self.__name__)
        _say(f"{self.__name__}: every level for these arguments written to {out}")
        return paths

    def _compile_from_level(self, level: str | None, folder: Path, target, signature, constexprs, options, attrs):
        from triton.compiler.compiler import CompiledKernel
        from workbench.compiler import compat
        from workbench.compiler import metadata as md
        from workbench.compiler import sources
        from workbench.model.diagnostics import WorkbenchError
        level, path = self._level_file(level, folder)
        t0 = time.perf_counter()
        compiler = shared_compiler(target)
        opts = {k: v for k, v in vars(options).items() if v is not None}
        meta_path = md.find_beside(path)
        python = None
        if meta_path is None or level in ("ttir", "ttgir"):
            python = compiler.compile_python(self, signature, constexprs, attrs, opts, with_sass=False)
            if level in ("ttir", "ttgir"):
                _check_signature(level, path, python.levels[level], self.__name__)
        base = md.load(meta_path) if meta_path else python.metadata_json()
        older = None if level not in ("ttir", "ttgir") else \
            sources.older_target(level, md.level_facts(level, path.read_text(errors="replace")), target)
        try:
            # a TTIR/TTGIR made for an older GPU of this kind runs on this one, as Triton runs it
            result = compiler.compile_file(path, base, with_sass=False, older_target_ok=True)
        except WorkbenchError as e:
            raise WorkbenchError(e.diagnostics) from None
        if older:
            _say(f"{self.__name__}: {path} is for {older}: compiled for {compat.target_str(target)}, the GPU's")
        out = compiler.cache.root / "kernels" / f"{self.__name__}-{result.metadata['hash'][:12]}" \
            if compiler.cache.root else Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-kernels" / \
            f"{self.__name__}-{result.metadata['hash'][:12]}"
        files = result.write(out, self.__name__)
        src = compat.ast_source(self, signature, constexprs, attrs)
        kernel = CompiledKernel(src, {f"{self.__name__}.json": str(files["json"]),
                                      f"{self.__name__}.cubin": str(files["cubin"])}, result.metadata["hash"])
        ms = (time.perf_counter() - t0) * 1e3
        how = "cache hit" if result.fully_cached else f"compiled in {ms:.0f} ms"
        _say(f"{self.__name__} from {level.upper()} {path}: {how}; levels saved in {out}")
        return kernel

    def _level_file(self, level: str | None, folder: Path) -> tuple[str, Path]:
        from workbench.model.diagnostics import WorkbenchError
        if not folder.is_dir():
            raise WorkbenchError.at(str(folder), "no such folder")
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


class _Interpreted(InterpretedFunction):
    """Triton's interpreter (``TRITON_INTERPRET=1``) runs Python kernels only: a launch from a
    level says it needs a GPU, instead of running the Python kernel in its place. (Nothing is
    compiled: in a process that imported Triton interpreted, its compiler cannot run.)"""

    def run(self, *args, grid, warmup, **kwargs):
        chosen = [k for k in LEVEL_KWARGS if k in kwargs]
        if chosen:
            from workbench.model.diagnostics import LevelNeedsGPU
            level = LEVEL_KWARGS[chosen[0]]
            what = f"{level.upper()} {kwargs[chosen[0]]}" if level else f"version {kwargs[chosen[0]]}"
            raise LevelNeedsGPU(f"{self.__name__} from {what}: Triton's interpreter (TRITON_INTERPRET=1) runs "
                                "Python kernels only; running a level needs a GPU, and this machine has none")
        return super().run(*args, grid=grid, warmup=warmup, **kwargs)


class _Options:
    """Compile options as ``_compile_from_level`` reads them (``vars()`` of Triton's options)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.__dict__.update(options)


def _driver_active() -> bool:
    """A driver to launch with: a GPU's, or the stand-in a capture installs."""
    from triton.runtime.driver import driver
    try:
        driver.active.get_current_target()
    except RuntimeError:   # "0 active drivers": no GPU
        return False
    return True


class _SpecOf:
    """The bits of a KernelSpec that ``specialization_of`` reads."""

    def __init__(self, fn) -> None:
        self.fn, self.file, self.line = fn, None, None


def _check_signature(level: str, path: Path, expected: str, name: str) -> None:
    """A TTIR/TTGIR level bakes in the specialization (argument types, divisibility, the arguments
    specialized away): refuse a level file compiled for other arguments. Names are not compared
    (a module printed without them says %arg0, %arg1, ...)."""
    import re
    from workbench.model.diagnostics import WorkbenchError
    pattern = re.compile(r"tt\.func\s+(?:public\s+)?@" + re.escape(name) + r"\((.*?)\)\s*(?:attributes|\{)", re.S)
    text = path.read_text()
    got, want = pattern.search(text), pattern.search(expected)
    if got is None or want is None:
        return
    have, need = _arguments(got.group(1)), _arguments(want.group(1))
    if [t for _, t in have] == [t for _, t in need]:
        return
    if len(have) != len(need):
        why = f"it takes {len(have)} arguments, these arguments give {len(need)}"
    else:
        i = next(i for i, (a, b) in enumerate(zip(have, need)) if a[1] != b[1])
        why = f"argument {i + 1} ({need[i][0]}) is {have[i][1]} here, {need[i][1]} for these arguments"
    line = text[:got.start()].count("\n") + 1
    raise WorkbenchError.at(str(path), f"this {level.upper()} was compiled for other arguments: {why}; "
                                       "refusing to launch", line)


def _arguments(signature: str) -> list[tuple[str, str]]:
    """(name, type with its attributes) of each argument of an MLIR function signature."""
    import re
    signature = re.sub(r"loc\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)", "", signature)
    parts, depth, current = [], 0, ""
    for c in signature:
        if c == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += c in "(<{["
        depth -= c in ")>}]"
        current += c
    parts.append(current)
    out = []
    for part in filter(str.strip, parts):
        name, _, rest = part.partition(":")
        out.append((name.strip().lstrip("%"), " ".join(rest.split())))
    return out


_COMPILERS: dict[str, Any] = {}


def shared_compiler(target=None):
    """The library's one Compiler per target, its stage cache the on-disk one."""
    from workbench.compiler import compat
    from workbench.compiler.cache import StageCache, default_dir
    from workbench.compiler.stages import Compiler
    target = target or compat.current_gpu_target() or "cuda:90"
    key = compat.target_str(compat.parse_target(target))
    if key not in _COMPILERS:
        _COMPILERS[key] = Compiler(target, StageCache(default_dir()))
    return _COMPILERS[key]


def _say(text: str) -> None:
    if os.environ.get("WORKBENCH_QUIET") not in ("1", "true"):
        print(f"workbench: {text}", file=sys.stderr)


def jit(fn=None, launcher: str | None = None, **kwargs):
    """Drop-in for ``triton.jit`` (same keyword arguments). Given a kernel already decorated
    with ``@triton.jit``, returns the same kernel, launchable from any level. ``launcher="own"``
    launches remembered specializations through the workbench's own launcher."""
    from workbench.runtime.launcher import CHOICES
    if launcher is not None and launcher not in CHOICES:
        raise ValueError(f"launcher= is 'own' or 'triton', not {launcher!r}")

    def decorator(f):
        if isinstance(f, JITFunction):
            for name in ("version", "do_not_specialize", "do_not_specialize_on_alignment", "debug", "noinline",
                         "launch_metadata"):
                if getattr(f, name, None) is not None:
                    kwargs.setdefault(name, getattr(f, name))
            f = f.fn
        if compat.interpret_enabled():
            return _Interpreted(f, **kwargs)
        return WorkbenchJITFunction(f, launcher=launcher, **kwargs)
    return decorator(fn) if fn is not None else decorator
