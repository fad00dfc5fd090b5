"""triton-runner's own example scripts through ``workbench.triton_runner``, each unchanged but
for its import lines, each in a process of its own with a time limit; a count table at the end.

    .venv/bin/python benchmarks/triton_runner_examples.py REPO [--jobs N] [--timeout S] [--mode M] [-v]

``REPO`` is a checkout (or ``git archive``) of github.com/toyaix/triton-runner: its files are read
there and never copied into this project. The scripts run are the Triton 3.6 ones: the folders
``examples/runner/v3.6.0``, ``examples/runner/v3.5.x`` (the files their 3.6 README points to; one
with a v3.6.0 script at the same path is left out, as that README does),
``examples/runner/python`` and ``examples/dump/python``. Each runs with the repository as the
working directory, ``__file__`` its own path (so ``get_file_dir(__file__)`` finds its level files)
and its import lines rewritten one for one (``import triton_runner`` ->
``import workbench.triton_runner as triton_runner``, ``triton_runner.language`` likewise), so
every other line, and every line number, is theirs.

``--mode compile-only`` (the default without a GPU): a stand-in driver compiles every launch for
the target the script's folder names (``sm120`` -> ``cuda:120``; else ``cuda:90``) and launches
nothing; a level launch that compiled and says it needs a GPU counts as ran. Their scripts'
own tensors on ``device="cuda"`` are made on the CPU there (a torch function mode of the
benchmark's, in the script's process only), so a CPU-only torch gets as far as the kernels. ``--mode gpu``: the
kernels launch; scripts of a folder made for another architecture are skipped, and a script that
prints triton-runner's mismatch line (``❌``) or a dump difference over ``--tolerance`` counts as
wrong; the difference allowed grows with the dumped values as their own output check does
(``torch.allclose(atol=1e-1, rtol=1e-2)``): their matmul dumps compare an fp32 accumulator with
torch's bf16 product, which is 0.125 apart from its neighbours at 16-32.

Outcomes: ``ok`` (ran to its end), ``refused`` (stopped with one workbench line: the script does
something we say we do not do), ``wrong`` (GPU: ran, a result differs), ``failed`` (a traceback,
or the time limit).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("examples/runner/v3.6.0", "examples/runner/v3.5.x", "examples/runner/python", "examples/dump/python")
IMPORTS = [
    (re.compile(r"^(\s*)import triton_runner\.language as (\w+)\s*$"), r"\1import workbench.triton_runner.language as \2"),
    (re.compile(r"^(\s*)import triton_runner\s*$"), r"\1import workbench.triton_runner as triton_runner"),
    (re.compile(r"^(\s*)import triton_runner as (\w+)\s*$"), r"\1import workbench.triton_runner as \2"),
    (re.compile(r"^(\s*)from triton_runner(\.[\w.]+)? import "), r"\1from workbench.triton_runner\2 import "),
]
OUTCOMES = ("ok", "refused", "wrong", "failed")
TLX = re.compile(r"^\s*import triton\.language\.extra\.tlx\b|^\s*from triton\.language\.extra(\.tlx)? import tlx\b",
                 re.MULTILINE)
EXIT_REFUSED = 3
DIFF = re.compile(r"maximum difference between torch and dump is (?:tensor\()?([-+0-9.eE]+|nan|inf)")


def rewrite(source: str) -> tuple[str, int]:
    """Their script with its import lines pointed at ours (one line for one): (text, lines changed)."""
    out, changed = [], 0
    for line in source.split("\n"):
        for pattern, to in IMPORTS:
            new = pattern.sub(to, line)
            if new != line:
                line, changed = new, changed + 1
                break
        out.append(line)
    return "\n".join(out), changed


def target_of(script: Path) -> str:
    """The target a script's folder was made for (``.../sm120/...`` -> cuda:120), else cuda:90."""
    arch = [int(m.group(1)) for part in script.parts if (m := re.fullmatch(r"sm(\d+)", part))]
    return f"cuda:{arch[-1]}" if arch else "cuda:90"


# -- the child: one script --------------------------------------------------------------------

def child(script: Path, repo: Path, mode: str) -> int:
    """Run ``script`` rewritten, as ``__main__``: 0 ran, EXIT_REFUSED one line, 1 a traceback."""
    import contextlib
    import traceback
    sys.path.insert(0, str(ROOT))
    from workbench.model.diagnostics import LevelNeedsGPU, WorkbenchError
    source, _ = rewrite(script.read_text())
    code = compile(source, str(script), "exec")
    os.chdir(repo)
    sys.argv = [str(script)]
    sys.path.insert(0, str(script.parent))
    if mode == "compile-only":
        from workbench.runtime.capture.hooks import recording
        from workbench.runtime.capture.model import Capture
        capture = Capture(script=str(script), mode="compile-only", target=target_of(script))
        context = recording(capture, compile_only=True)
        _cuda_on_the_cpu()
    else:
        context = contextlib.nullcontext()
    main = {"__name__": "__main__", "__file__": str(script), "__builtins__": __builtins__}
    try:
        with context:
            exec(code, main)
    except LevelNeedsGPU as e:    # the level compiled; running it needs a GPU
        print(f"[benchmark] compiled: {e}", file=sys.stderr)
    except WorkbenchError as e:
        print(f"[benchmark] refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except SystemExit as e:
        if e.code not in (None, 0):
            traceback.print_exc()
            return 1
    except BaseException:  # noqa: BLE001 - their script's failure is the measurement
        traceback.print_exc()
        return 1
    return 0


def _cuda_on_the_cpu() -> None:
    """Their scripts' ``device="cuda"`` tensors made on the CPU (no GPU: nothing reads them)."""
    import torch
    from torch.overrides import TorchFunctionMode

    def cpu(device):
        text = str(device)
        return "cpu" if text.startswith("cuda") or isinstance(device, int) else device

    class CudaOnTheCpu(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if "device" in kwargs:
                kwargs["device"] = cpu(kwargs["device"])
            if func in (torch.Tensor.cuda,):
                return args[0]
            if func in (torch.Tensor.to,) and args[1:] and not isinstance(args[1], (torch.dtype, torch.Tensor)):
                args = (args[0], cpu(args[1]), *args[2:])
            return func(*args, **kwargs)

    CudaOnTheCpu().__enter__()
    torch.cuda.current_device = lambda: "cpu"
    torch.cuda.synchronize = lambda *a, **k: None


# -- the parent: every script, a table ---------------------------------------------------------

def scripts_in(repo: Path) -> list[Path]:
    """The scripts of FOLDERS; a v3.5.x one whose path has a v3.6.0 one (its level and GPU remade for
    3.6: their 3.6 README names that one) is left out."""
    found = []
    for folder in FOLDERS:
        found.extend(sorted((repo / folder).rglob("*.py")))
    newer, older = repo / "examples/runner/v3.6.0", repo / "examples/runner/v3.5.x"
    return [s for s in found if not (s.is_relative_to(older) and (newer / s.relative_to(older)).is_file())]


def gpu_arch() -> int | None:
    try:
        out = subprocess.run([sys.executable, "-c", "import torch; c = torch.cuda.get_device_capability() "
                              "if torch.cuda.is_available() else None; print(c[0] * 10 + c[1] if c else '')"],
                             capture_output=True, text=True, timeout=120).stdout.strip()
    except subprocess.TimeoutExpired:
        return None
    return int(out) if out.isdigit() else None


NUMBER = re.compile(r"[-+]?\d+\.\d*(?:e[-+]?\d+)?")


def largest_shown(output: str) -> float:
    """The largest magnitude among the values a script printed of its dump (``debug tensor(...)``,
    torch's summary of it: its corners)."""
    shown = []
    for block in re.findall(r"debug tensor\((.*?)device=", output, re.DOTALL):
        shown += [abs(float(x)) for x in NUMBER.findall(block)]
    return max(shown, default=0.0)


def judge(rc: int | None, output: str, mode: str, tolerance: float) -> tuple[str, str]:
    """(outcome, the line that says why)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if rc is None:
        return "failed", "time limit"
    if rc == EXIT_REFUSED:
        return "refused", next((line for line in lines if line.startswith("[benchmark] refused:")), "")[22:]
    if rc != 0:
        return "failed", lines[-1] if lines else f"exit status {rc}"
    if mode == "gpu":
        if any("❌" in line for line in lines):
            return "wrong", next(line for line in lines if "❌" in line)
        # their matmul dumps compare an fp32 accumulator with torch's bf16 ``a @ b`` (rounded to 8
        # bits of mantissa: 0.125 apart at 16-32): a difference is judged by their own check of
        # the outputs, ``torch.allclose(atol=1e-1, rtol=1e-2)``, on the largest dumped value shown
        allowed = max(tolerance, 0.1 + 0.01 * largest_shown(output))
        for m in DIFF.finditer(output):
            value = float(m.group(1))
            if not value <= allowed:    # (nan too)
                return "wrong", f"dump differs from torch by {m.group(1)} (allowed {allowed:.3g})"
    said = next((line for line in lines if line.startswith("[benchmark] compiled:")), "")
    return "ok", said[12:] if said else ""


def run_one(script: Path, repo: Path, mode: str, timeout: float, tolerance: float) -> tuple[str, str, float, str]:
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIET=os.environ.get("WORKBENCH_QUIET", ""))
    with subprocess.Popen([sys.executable, __file__, "--child", str(script), str(repo), "--mode", mode],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          start_new_session=True) as proc:
        try:
            output, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)   # (its own session: the script's children go with it)
            output, _ = proc.communicate()
            rc = None
    outcome, why = judge(rc, output, mode, tolerance)
    return outcome, why, time.perf_counter() - t0, output


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path, help="a checkout of toyaix/triton-runner")
    ap.add_argument("--mode", choices=("auto", "compile-only", "gpu"), default="auto")
    ap.add_argument("--jobs", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per script")
    ap.add_argument("--tolerance", type=float, default=1e-2, help="GPU: the largest dump difference counted as equal")
    ap.add_argument("--only", default="", help="run the scripts whose path contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each script's output")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    repo = args.repo.resolve()
    if args.child:
        return child(args.child.resolve(), repo, args.mode)
    if not all((repo / f).is_dir() for f in FOLDERS):
        print(f"{repo}: not a triton-runner checkout (no {FOLDERS[0]}): pass the folder of their repository",
              file=sys.stderr)
        return 2
    arch = gpu_arch() if args.mode != "compile-only" else None
    mode = args.mode if args.mode != "auto" else ("gpu" if arch else "compile-only")
    if mode == "gpu" and arch is None:
        print("no GPU here: use --mode compile-only", file=sys.stderr)
        return 2
    scripts = [s for s in scripts_in(repo) if args.only in str(s.relative_to(repo))]
    skipped = [s for s in scripts if mode == "gpu" and target_of(s) != f"cuda:{arch}" and "/sm" in str(s)]
    # their TLX examples import Meta's TLX, which only its fork of Triton has
    fork = [s for s in scripts if s not in skipped and TLX.search(s.read_text(errors="replace"))
            and importlib.util.find_spec("triton.language.extra.tlx") is None]
    todo = [s for s in scripts if s not in skipped and s not in fork]
    t0 = time.perf_counter()
    print(f"{len(todo)} scripts of {repo}, {mode}" + (f" on sm{arch}" if arch else "") +
          (f" ({len(skipped)} made for other GPUs skipped)" if skipped else "") + f", {args.jobs} at a time")
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda s: run_one(s, repo, mode, args.timeout, args.tolerance), todo))
    counts: dict[str, dict[str, int]] = {}
    for script, (outcome, why, seconds, output) in zip(todo, results):
        rel = script.relative_to(repo)
        group = next(f for f in FOLDERS if str(rel).startswith(f))
        counts.setdefault(group, dict.fromkeys(OUTCOMES, 0))[outcome] += 1
        print(f"{outcome:8} {seconds:5.1f}s  {rel}" + (f"\n         {why[:300]}" if why else ""))
        if args.verbose:
            print("    " + output.replace("\n", "\n    "))
    print()
    print(f"{'folder':28}" + "".join(f"{o:>9}" for o in OUTCOMES) + f"{'total':>9}")
    total = dict.fromkeys(OUTCOMES, 0)
    for group, row in counts.items():
        print(f"{group:28}" + "".join(f"{row[o]:9}" for o in OUTCOMES) + f"{sum(row.values()):9}")
        for o in OUTCOMES:
            total[o] += row[o]
    print(f"{'all':28}" + "".join(f"{total[o]:9}" for o in OUTCOMES) + f"{sum(total.values()):9}")
    print(f"{time.perf_counter() - t0:.0f} s" + (f"; skipped (other GPUs): {len(skipped)}" if skipped else "")
          + (f"; skipped (Triton with TLX, Meta's fork): {len(fork)}" if fork else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
