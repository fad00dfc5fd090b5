"""Run an exported kernel version: compile it from its level with Triton's own API, launch it
with the captured grid on the captured (or random) inputs, check the outputs against the
original kernel's and time it. Needs torch and Triton only (the release in launch.json).

    python run.py            # on the GPU it was exported for
    TRITON_INTERPRET=1 python run.py   # a Python-level export, without a GPU
    ncu ... python run.py --profile    # one launch only: no check, no timing (``workbench profile``)
    python run.py --proton DIR         # one launch under proton's intra-kernel scopes, into DIR
    compute-sanitizer ... python run.py --sanitize FILE   # one launch; the arguments' addresses in FILE

Written by triton-workbench (``workbench export``); this file is copied as is into every export.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
LAUNCH = json.loads((HERE / "launch.json").read_text())
LEVEL = LAUNCH["level"]
# under compute-sanitizer each storage is allocated to its exact size (a read past its end is out
# of bounds, not in padding) where the allocator's address already keeps the captured alignment
SANITIZE = "--sanitize" in sys.argv[1:]


def say(text: str) -> None:
    print(f"run.py: {text}", flush=True)


def fail(text: str, status: int = 2) -> None:
    print(f"{HERE / LAUNCH['file']}: error: {text}", file=sys.stderr, flush=True)
    sys.exit(status)


import torch  # noqa: E402

# TRITON_INTERPRET=1 asks for Triton's interpreter, on the CPU, even where there is a GPU
ON_GPU = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") != "1"
if not ON_GPU:
    if LEVEL != "python":
        fail(f"this version starts from {LEVEL.upper()}: it runs on a GPU ({LAUNCH['target']['backend']}:"
             f"{LAUNCH['target']['arch']}); without one only Python-level exports run (in Triton's interpreter)")
    os.environ["TRITON_INTERPRET"] = "1"  # "0" left by a parent (a capture sets it) would mean no launch at all
DEVICE = torch.device("cuda" if ON_GPU else "cpu")

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402

if triton.__version__ != LAUNCH["triton_version"]:
    say(f"warning: exported with Triton {LAUNCH['triton_version']}, running under {triton.__version__}")


# -- inputs ----------------------------------------------------------------------------------

def _dtype(name: str):
    return getattr(torch, name)


def _storages(kind: str) -> list:
    """Each captured storage on the device, at the address (mod ALIGN) it had when captured
    (Triton specializes on 16-byte divisibility)."""
    align = LAUNCH["align"]
    if LAUNCH["inputs"] == "captured":
        data = torch.load(HERE / f"{kind}.pt")
    else:
        data = [None] * len(LAUNCH["storages"])
    out = []
    for i, n in enumerate(LAUNCH["storages"]):
        buf = torch.empty(n if SANITIZE else n + align, dtype=torch.uint8, device=DEVICE)
        if buf.data_ptr() % align and SANITIZE:
            buf = torch.empty(n + align, dtype=torch.uint8, device=DEVICE)
        shift = (-buf.data_ptr()) % align
        region = buf[shift:shift + n]
        if data[i] is not None:
            region.copy_(data[i])
        out.append(region)
    return out


def _views(storages: list) -> dict:
    views = {}
    for name, v in LAUNCH["views"].items():
        dtype = _dtype(v["dtype"])
        size = torch.empty(0, dtype=dtype).element_size()
        region = storages[v["storage"]]
        views[name] = torch.empty(0, dtype=dtype, device=DEVICE).set_(
            region.untyped_storage(), (region.storage_offset() + v["offset"]) // size, v["shape"], v["strides"])
    return views


def _randomize(views: dict) -> None:
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    for t in views.values():
        if t.dtype.is_floating_point:
            t.copy_(torch.randn(t.shape, generator=gen, device=DEVICE).to(t.dtype))
        elif t.dtype == torch.bool:
            t.copy_(torch.rand(t.shape, generator=gen, device=DEVICE) > 0.5)
        else:
            t.copy_(torch.randint(0, 16, t.shape, generator=gen, device=DEVICE).to(t.dtype))


def fresh_args() -> tuple[list, dict]:
    """Every kernel argument in order, over new copies of the inputs; the tensors by name."""
    views = _views(_storages("inputs"))
    if LAUNCH["inputs"] == "random":
        _randomize(views)
    args = []
    for a in LAUNCH["args"]:
        if "tensor" in a:
            args.append(views[a["tensor"]])
        elif "rebuild" in a:
            args.append(rebuilt(a["name"], a["rebuild"]))
        elif a.get("repr"):
            if LEVEL == "python" or LAUNCH["signature"].get(a["name"]) != "constexpr":
                fail(f"argument {a['name']} = {a['value']} cannot be rebuilt outside the script")
            args.append(None)   # a constexpr compiled into the level: not an argument of its launch
        else:
            args.append(a["value"])
    return args, views


def rebuilt(name: str, how):
    """A Gluon layout or a Triton dtype again, from what ``workbench export`` wrote of it (its class
    looked up in Gluon's language by name, its fields plain values or layouts: nothing evaluated)."""
    if isinstance(how, list):
        return [rebuilt(name, v) for v in how]
    if not isinstance(how, dict):
        return how
    if "dtype" in how:
        import triton.language as tl
        return tl.dtype(how["dtype"])
    from triton.experimental.gluon import language as gl
    cls = getattr(gl, str(how.get("gluon")), None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)) or not isinstance(how.get("fields"), dict):
        fail(f"argument {name}: {how.get('gluon')!r} is no layout of Gluon {triton.__version__}")
    try:
        return cls(**{k: rebuilt(name, v) for k, v in how["fields"].items()})
    except (TypeError, ValueError, AssertionError) as e:
        fail(f"argument {name}: {how['gluon']} cannot be built again under Triton {triton.__version__}: {e}")


# -- compile from the exported level ---------------------------------------------------------

def _target() -> GPUTarget:
    t = LAUNCH["target"]
    return GPUTarget(t["backend"], t["arch"], t["warp_size"])


def _python_kernel():
    spec = importlib.util.spec_from_file_location("exported_kernel", HERE / LAUNCH["file"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["exported_kernel"] = module
    spec.loader.exec_module(module)  # the script's own main() is behind its __main__ guard
    kernel = getattr(module, LAUNCH["kernel"])
    # the kernel under an autotuner or heuristics (both have ``fn`` and ``arg_names`` too): they
    # would add their config's constexprs to the exported arguments, which hold them already
    from triton.runtime.autotuner import Autotuner, Heuristics
    while isinstance(kernel, (Autotuner, Heuristics)):
        kernel = kernel.fn
    return lambda grid, args: kernel[grid](*args, **LAUNCH["launch_options"])


def _ir_kernel():
    """TTIR/TTGIR: ``triton.compile`` takes the file. LLIR/PTX/cubin (and AMDGCN/hsaco): the
    backend's own stages after the level, then Triton's ``CompiledKernel`` over the binary."""
    from triton.compiler.compiler import CompiledKernel, make_backend
    path = HERE / LAUNCH["file"]
    target = _target()
    backend = make_backend(target)
    fields = vars(backend.parse_options({}))  # the options as captured, where this backend has them
    chosen = {k: tuple(v) if isinstance(v, list) else v for k, v in LAUNCH["compile_options"].items() if k in fields}
    if LEVEL in ("ttir", "ttgir"):
        runtime = [i for i, n in enumerate(LAUNCH["arg_names"]) if LAUNCH["signature"].get(n) != "constexpr"]
        compiled = triton.compile(str(path), target=target, options=chosen)
        return lambda grid, args: compiled[grid](*[args[i] for i in runtime])
    options = backend.parse_options(chosen)
    stages: dict = {}
    try:
        from triton.backends.compiler import Language
        backend.add_stages(stages, options, Language.TRITON)
    except (ImportError, TypeError):  # Triton before 3.4
        backend.add_stages(stages, options)
    metadata = json.loads((HERE / LAUNCH["metadata"]).read_text())
    metadata.pop("workbench", None)
    binary = "hsaco" if target.backend == "hip" else "cubin"
    order = list(stages)
    obj = path.read_bytes() if LEVEL == binary else path.read_text()
    if LEVEL != binary:
        if LEVEL in ("llir", "amdgcn"):  # what make_llir would have set up in this process for the next stage
            from triton._C.libtriton import llvm
            llvm.init_targets()
            if target.backend == "cuda":
                from triton._C.libtriton import nvidia
                getattr(nvidia, "set_short_ptr", lambda: None)()
        for ext in order[order.index(LEVEL) + 1:]:
            obj = stages[ext](obj, metadata)
    folder = Path(tempfile.mkdtemp(prefix="run-"))
    (folder / f"{metadata['name']}.{binary}").write_bytes(obj)
    metadata["target"] = LAUNCH["target"]
    (folder / f"{metadata['name']}.json").write_text(json.dumps(metadata, default=str))
    constants = {n: v for n, v in LAUNCH["constexprs"].items()}
    src = SimpleNamespace(fn=SimpleNamespace(arg_names=LAUNCH["arg_names"]), signature=LAUNCH["signature"],
                          constants=constants)
    compiled = CompiledKernel(src, {f"{metadata['name']}.json": str(folder / f"{metadata['name']}.json"),
                                    f"{metadata['name']}.{binary}": str(folder / f"{metadata['name']}.{binary}")},
                              metadata.get("hash", ""))
    return lambda grid, args: compiled[grid](*args)


# -- run, check, time ------------------------------------------------------------------------

def check(views: dict) -> bool:
    if LAUNCH["inputs"] != "captured":
        say("random inputs: the outputs are not checked (the original's outputs were not exported)")
        return True
    expected = _views(_storages("outputs"))
    ok = True
    for label, name in LAUNCH["checked"].items():
        got, want = views[name].cpu(), expected[name].cpu()
        try:
            torch.testing.assert_close(got, want, equal_nan=True)
            say(f"{label}: ok")
        except AssertionError as e:
            ok = False
            say(f"{label}: MISMATCH: " + " ".join(str(e).split("\n")[:3]))
    return ok


def profile_once() -> int:
    """One launch and nothing else, for a profiler that replays the first launch it sees: no
    check against the original (it would add copies to the profile) and no timing loop."""
    launch = _python_kernel() if LEVEL == "python" else _ir_kernel()
    args, _ = fresh_args()
    launch(tuple(LAUNCH["grid"]), args)
    if ON_GPU:
        torch.cuda.synchronize()
    say(f"{LAUNCH['kernel']} version {LAUNCH['version']} launched once (--profile)")
    return 0


def _span(t) -> int:
    """Bytes from a view's first element to the end of its last."""
    if t.numel() == 0:
        return 0
    return (1 + sum((s - 1) * st for s, st in zip(t.shape, t.stride()))) * t.element_size()


def sanitize_once(out: Path) -> int:
    """One launch for compute-sanitizer, after writing each tensor argument's device address and
    extent to ``out``: an error's address is then said against the nearest argument buffer."""
    if not ON_GPU:
        fail("compute-sanitizer checks a kernel as it runs on an NVIDIA GPU, and this machine has none")
    launch = _python_kernel() if LEVEL == "python" else _ir_kernel()
    args, _ = fresh_args()
    buffers = [{"name": a["name"], "address": t.data_ptr(), "bytes": _span(t)}
               for a, t in zip(LAUNCH["args"], args) if "tensor" in a]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"buffers": buffers}, indent=1))
    try:
        launch(tuple(LAUNCH["grid"]), args)
        torch.cuda.synchronize()
    except RuntimeError as e:  # memcheck stops a kernel at a bad access: the launch fails after it
        fail(f"the launch failed under compute-sanitizer: {str(e).strip().splitlines()[0]}", 1)
    say(f"{LAUNCH['kernel']} version {LAUNCH['version']} launched once (--sanitize)")
    return 0


def proton_scopes(out: Path) -> int:
    """One launch under proton's intra-kernel instrumentation, twice (a tree: cycles per scope;
    a trace: each warp's time in each scope), into ``out``. The scopes are the kernel's own
    ``pl.enter_scope``/``pl.scope`` calls, compiled in from its Python source."""
    if LEVEL != "python":
        fail(f"proton scopes are compiled in from the Python source: this version starts from {LEVEL.upper()}")
    if not ON_GPU:
        fail("proton's intra-kernel timing needs a GPU")
    try:
        import triton.profiler as proton
        import triton.profiler.language as pl
    except ImportError as e:
        fail(f"Triton {triton.__version__} has no proton ({e})")
    if hasattr(pl, "enable_semantic"):  # 3.5+: only Gluon kernels are instrumented unless asked
        pl.enable_semantic("triton")
    launch = _python_kernel()
    out.mkdir(parents=True, exist_ok=True)
    for data in ("tree", "trace"):
        args, _ = fresh_args()
        proton.start(str(out / f"scopes-{data}"), backend="instrumentation", data=data)
        launch(tuple(LAUNCH["grid"]), args)
        torch.cuda.synchronize()
        proton.finalize()
    say(f"{LAUNCH['kernel']} version {LAUNCH['version']}: proton scopes written to {out}")
    return 0


def main() -> int:
    if "--profile" in sys.argv[1:]:
        return profile_once()
    if SANITIZE:
        return sanitize_once(Path(sys.argv[sys.argv.index("--sanitize") + 1]))
    if "--proton" in sys.argv[1:]:
        return proton_scopes(Path(sys.argv[sys.argv.index("--proton") + 1]))
    say(f"{LAUNCH['kernel']} version {LAUNCH['version']} from {LEVEL} ({LAUNCH['file']}), "
        f"grid {tuple(LAUNCH['grid'])}, {'GPU ' + torch.cuda.get_device_name() if ON_GPU else 'interpreter'}")
    launch = _python_kernel() if LEVEL == "python" else _ir_kernel()
    grid = tuple(LAUNCH["grid"])
    args, views = fresh_args()
    launch(grid, args)
    if ON_GPU:
        torch.cuda.synchronize()
    ok = check(views)
    args, _ = fresh_args()
    if ON_GPU:
        ms = triton.testing.do_bench(lambda: launch(grid, args), warmup=25, rep=100, return_mode="median")
        say(f"median {ms * 1e3:.2f} us per launch (triton.testing.do_bench)")
    else:
        t0 = time.perf_counter()
        launch(grid, args)
        say(f"{(time.perf_counter() - t0) * 1e3:.1f} ms wall clock in the interpreter (not a kernel timing)")
    say("verified" if ok else "outputs differ from the original's")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
