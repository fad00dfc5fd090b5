"""Nsight Compute (``ncu``) as a tool: the command that profiles one launch, its failures as
one sentence each, and its CSV pages read back as numbers.

The report is read through ``ncu -i REPORT --csv --page raw`` (one row per profiled launch:
metric names, then units, then values) and ``--page source --print-source sass`` (one row per
SASS instruction, at its absolute address). Values come as ncu prints them by default: units
chosen per value (``Kbyte``, ``us``) and thousands separated by commas; both are undone here.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from workbench.model.diagnostics import WorkbenchError

# The sections that hold what the profile shows (speed of light, launch and occupancy, warp
# state for the stall reasons, source counters for the per-instruction samples), and the
# metrics read beyond them (DRAM bytes, hit rates, spills, FLOPs by dtype): instead of
# ``--set full`` (38 passes for the matmul example on the H200).
SECTIONS = ("SpeedOfLight", "LaunchStats", "Occupancy", "WarpStateStats", "SourceCounters")
TENSOR_FLOPS = {  # FLOPs the tensor cores did, by the dtype of their inputs
    "fp16": "sm__ops_path_tensor_src_fp16.sum",
    "bf16": "sm__ops_path_tensor_src_bf16_dst_fp32.sum",
    "tf32": "sm__ops_path_tensor_src_tf32_dst_fp32.sum",
    "fp8": "sm__ops_path_tensor_src_fp8_sparsity_off.sum",
    "int8": "sm__ops_path_tensor_src_int8.sum",
    "fp64": "sm__ops_path_tensor_src_fp64.sum",
}
FP32_OPS = {"ffma": 2, "fadd": 1, "fmul": 1}  # FLOPs per thread instruction
FP32_METRIC = "smsp__sass_thread_inst_executed_op_{}_pred_on.sum"
METRICS = (
    "gpu__time_duration.sum", "dram__bytes_read.sum", "dram__bytes_write.sum",
    "l1tex__t_sector_hit_rate.pct", "lts__t_sector_hit_rate.pct",
    "sass__inst_executed_register_spilling", "smsp__inst_executed.sum",
    *TENSOR_FLOPS.values(), *(FP32_METRIC.format(op) for op in FP32_OPS),
)

_SCALE = {"byte": 1, "kbyte": 1e3, "mbyte": 1e6, "gbyte": 1e9, "tbyte": 1e12,
          "ns": 1, "nsecond": 1, "us": 1e3, "usecond": 1e3, "ms": 1e6, "msecond": 1e6, "s": 1e9, "second": 1e9}


def find_ncu() -> str | None:
    """``$WORKBENCH_NCU``, else ``ncu`` on PATH."""
    return os.environ.get("WORKBENCH_NCU") or shutil.which("ncu")


def profile_command(ncu: str, report: Path, kernel: str, program: list[str]) -> list[str]:
    """Profile the first launch of ``kernel`` that ``program`` makes, into ``report``.

    Clocks are left as they are (``--clock-control none``: the figures match a timing taken
    without ncu); the source is imported so the report stands alone."""
    sections = [a for s in SECTIONS for a in ("--section", s)]
    return [ncu, "--clock-control", "none", *sections, "--metrics", ",".join(METRICS),
            "--import-source", "yes", "-k", f"regex:^{re.escape(kernel)}$", "-c", "1", "-f",
            "-o", str(report.with_suffix("")), *program]


def page_command(ncu: str, report: Path, page: str) -> list[str]:
    extra = ["--print-source", "sass"] if page == "source" else []
    return [ncu, "-i", str(report), "--csv", "--page", page, *extra]


@dataclass
class NcuFailure:
    """What went wrong in a run of ncu, as the sentence a user acts on."""
    sentence: str


_PERM = "ERR_NVGPUCTRPERM"
_NO_KERNEL = re.compile(r"==WARNING== No kernels were profiled")
_FAILED = re.compile(r"==ERROR== (Failed to profile.*|.*replay.*)", re.IGNORECASE)
_ERROR = re.compile(r"==ERROR== (.*)")
_APP_FAILED = re.compile(r"==ERROR== The application returned an error code")
_REPLAY_ERROR = re.compile(r"^(?!==)\S.*?: error: (.*)$", re.MULTILINE)


def failure(output: str, kernel: str, returncode: int) -> NcuFailure | None:
    """The reason a profile gave nothing, from ncu's own output; None when it worked."""
    if _PERM in output:
        return NcuFailure("ncu may not read this GPU's performance counters (ERR_NVGPUCTRPERM): run it as root, "
                          "or let every user profile (the nvidia module's NVreg_RestrictProfilingToAdminUsers=0; "
                          "https://developer.nvidia.com/ERR_NVGPUCTRPERM)")
    if m := _FAILED.search(output):
        return NcuFailure(f"ncu could not replay {kernel}: {m.group(1).strip()}")
    replay = _REPLAY_ERROR.search(output)  # run.py's own FILE: error: line, when it failed
    if replay is not None and (_NO_KERNEL.search(output) or _APP_FAILED.search(output)):
        return NcuFailure(f"ncu profiled no launch of {kernel}: the replay failed: {replay.group(1)}")
    if _NO_KERNEL.search(output):
        return NcuFailure(f"ncu profiled no launch of {kernel}: the replay did not launch it (see the replay's "
                          "output above)")
    if returncode != 0:
        m = _ERROR.search(output)
        return NcuFailure(f"ncu failed: {m.group(1).strip()}" if m else f"ncu exited with status {returncode}")
    return None


def run(argv: list[str], where: str, kernel: str, cwd: Path, timeout: float = 600.0) -> tuple[str, str]:
    """Run ncu: its stdout and its whole output (the replay's too), or a :class:`WorkbenchError`
    naming ``where`` with the reason."""
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise WorkbenchError.at(where, f"{argv[0]} cannot be run: {no_ncu_sentence()}") from None
    except subprocess.TimeoutExpired:
        raise WorkbenchError.at(where, f"ncu ran past {timeout:.0f} s profiling {kernel}") from None
    output = proc.stdout + proc.stderr
    if (bad := failure(output, kernel, proc.returncode)) is not None:
        raise WorkbenchError.at(where, bad.sentence, detail=output)
    return proc.stdout, output


_PASSES = re.compile(r"==PROF== Profiling .* - (\d+) pass")


def passes(log: str) -> int | None:
    """How many times ncu replayed the kernel (its ``- 38 passes`` line)."""
    m = _PASSES.search(log)
    return int(m.group(1)) if m else None


def no_ncu_sentence() -> str:
    return ("Nsight Compute's ncu is not on PATH (it comes with the CUDA toolkit, e.g. /usr/local/cuda/bin/ncu; "
            "or name it with WORKBENCH_NCU)")


# -- the pages -------------------------------------------------------------------------------

def number(value: str, unit: str = "") -> float | None:
    """``"5,408"`` -> 5408.0; ``("275.2", "Kbyte")`` -> 275200.0 bytes; times in ns; rates
    (``Gbyte/s``) as printed."""
    value = value.strip().replace(",", "")
    try:
        x = float(value)
    except ValueError:
        return None
    unit = unit.strip().lower()
    if unit.endswith(("/block", "/thread")):  # "Kbyte/block": a size per block
        unit = unit.split("/")[0]
    return x * _SCALE.get(unit, 1)


def _rows(text: str) -> list[list[str]]:
    """The CSV rows, without ncu's own ``==PROF==`` lines (printed when the report names them)."""
    lines = [ln for ln in text.splitlines() if not ln.startswith("==")]
    return list(csv.reader(io.StringIO("\n".join(lines))))


@dataclass
class RawLaunch:
    """One profiled launch of the raw page: metric name -> (text, unit)."""
    values: dict[str, tuple[str, str]]

    def get(self, name: str) -> float | None:
        if name not in self.values:
            return None
        text, unit = self.values[name]
        return number(text, unit)

    def text(self, name: str) -> str | None:
        return self.values[name][0] if name in self.values else None


def parse_raw(text: str, kernel: str | None = None) -> RawLaunch:
    """The first launch (of ``kernel``, if named) of ``--page raw``."""
    rows = _rows(text)
    if len(rows) < 3:
        raise ValueError("the raw page holds no profiled launch")
    header, units = rows[0], rows[1]
    for row in rows[2:]:
        launch = RawLaunch({h: (v, u) for h, u, v in zip(header, units, row)})
        if kernel is None or launch.text("Kernel Name") in (kernel, None):
            return launch
    raise ValueError(f"the raw page holds no launch of {kernel}")


@dataclass
class Instruction:
    offset: int            # bytes from the kernel's first instruction
    text: str
    samples: int           # warp stall samples, all
    samples_not_issued: int
    executed: int          # warp-level instructions executed
    stalls: dict[str, int] = field(default_factory=dict)  # reason -> samples


def parse_source(text: str) -> list[Instruction]:
    """``--page source --print-source sass``: the SASS of the profiled kernel with its counters.

    Addresses are where the kernel was loaded; offsets from the first one are the
    ``/*0000*/`` offsets nvdisasm prints for the same cubin."""
    rows = _rows(text)
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Address")
    header = rows[start]
    col = {name: i for i, name in enumerate(header)}
    stall_cols = {name[len("stall_"):]: i for name, i in col.items()
                  if name.startswith("stall_") and "(" not in name}
    out: list[Instruction] = []
    base = None
    for row in rows[start + 1:]:
        if not row or not row[0].startswith("0x"):
            continue
        address = int(row[0], 16)
        base = address if base is None else base

        def count(i: int) -> int:
            return int(number(row[i]) or 0) if i < len(row) else 0
        out.append(Instruction(address - base, row[col["Source"]].strip(),
                               count(col["Warp Stall Sampling (All Samples)"]),
                               count(col["Warp Stall Sampling (Not-issued Samples)"]),
                               count(col["Instructions Executed"]),
                               {k: n for k, i in stall_cols.items() if (n := count(i))}))
    return out
