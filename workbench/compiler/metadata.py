"""Launch metadata: what each level states about itself, and the JSON beside level files.

Triton fills the metadata while it compiles (``num_warps`` from options and TTGIR,
``shared`` in the LLIR stage, ``name`` in the PTX stage). When a compile starts below a
stage, what that stage would have said comes from the level text where the text states it,
and from the last full compile otherwise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.model.diagnostics import WorkbenchError, utf8_text

# Options that follow from the target rather than from the user: dropped when the same
# kernel is compiled for another target.
TARGET_DERIVED = frozenset({"arch", "supported_fp8_dtypes", "deprecated_fp8_dot_operand_dtypes",
                            "max_num_imprecise_acc_default", "backend_name", "extern_libs"})


def _int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text, re.MULTILINE)
    return int(m.group(1)) if m else None


def ttgir_facts(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if (v := _int(r'"?ttg\.num-warps"?\s*=\s*(\d+)', text)) is not None:
        facts["num_warps"] = v
    if (v := _int(r'"?ttg\.num-ctas"?\s*=\s*(\d+)', text)) is not None:
        facts["num_ctas"] = v
    if (v := _int(r'"?ttg\.threads-per-warp"?\s*=\s*(\d+)', text)) is not None:
        facts["warp_size"] = v
    if m := re.search(r'ttg\.target\s*=\s*"(\w+):(\w+)"', text):
        facts["target"] = f"{m.group(1)}:{m.group(2)}"
    return facts


def llir_facts(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    m = re.search(r"^define\s+(?:[\w.]+\s+)*void\s+@([\w.$]+)\s*\(", text, re.MULTILINE)
    if m:
        facts["name"] = m.group(1)
    threads = _int(r'"nvvm\.reqntid"="(\d+)', text) or _int(r'"nvvm\.maxntid"="(\d+)', text) \
        or _int(r'!"(?:reqntidx|maxntidx)", i32 (\d+)', text)
    if threads:
        facts["num_warps"] = threads // 32
    elif (threads := _int(r'"amdgpu-flat-work-group-size"="1,(\d+)"', text)):  # AMD: wave64
        facts["num_warps"] = threads // 64
    return facts


def ptx_facts(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    names = re.findall(r"^\s*\.visible\s+\.entry\s+([\w$]+)", text, re.MULTILINE)
    if names:
        facts["name"] = names[0]
        facts["entries"] = names
    threads = _int(r"^\s*\.reqntid\s+(\d+)", text) or _int(r"^\s*\.maxntid\s+(\d+)", text)
    if threads:
        facts["num_warps"], facts["threads"] = threads // 32, threads
    if m := re.search(r"^\s*\.target\s+sm_(\d+)", text, re.MULTILINE):
        facts["arch"] = int(m.group(1))
    return facts


def amdgcn_facts(text: str) -> dict[str, Any]:
    """What AMDGCN assembly states: the kernel (``.amdhsa_kernel``), the arch (``.amdgcn_target``)."""
    facts: dict[str, Any] = {}
    if m := re.search(r"^\s*\.amdhsa_kernel\s+([\w.$]+)", text, re.MULTILINE):
        facts["name"] = m.group(1)
    if m := re.search(r'^\s*\.amdgcn_target\s+"amdgcn-amd-amdhsa--(gfx\w+)', text, re.MULTILINE):
        facts["target"] = f"hip:{m.group(1)}"
    return facts


FACTS = {"ttgir": ttgir_facts, "llir": llir_facts, "ptx": ptx_facts, "amdgcn": amdgcn_facts}


def level_facts(level: str, text: str) -> dict[str, Any]:
    fn = FACTS.get(level)
    return fn(text) if fn else {}


def stated_target(facts: dict[str, Any]) -> str | None:
    """The target a level names for itself (TTGIR's ``ttg.target``, PTX's ``.target sm_NN``)."""
    return facts.get("target") or (f"cuda:{facts['arch']}" if "arch" in facts else None)


def to_json(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, default=vars, indent=2, sort_keys=True)


def load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise WorkbenchError.at(str(path), "is a folder, not the kernel's metadata: remove it or pass --metadata FILE")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WorkbenchError.at(str(path), "metadata file not found") from None
    except OSError as e:
        raise WorkbenchError.at(str(path), f"cannot read the metadata: {e.strerror or e}") from None
    text = utf8_text(data, str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkbenchError.at(str(path), f"not valid JSON: {e.msg}", e.lineno, e.colno) from None
    if not isinstance(data, dict):
        raise WorkbenchError.at(str(path), "metadata must be a JSON object", 1, 1)
    if found := problems(data):
        key, sentence = found[0]
        raise WorkbenchError.at(str(path), sentence, *_key_position(text, key))
    return data


# Values a stage would choke on with a traceback (``int("x")``), refused before anything compiles:
# the whole-number keys, with their least value. num_warps need not be a power of 2: Triton writes
# a warp-specialized kernel's total (base + partitions, 12 or 20) there; see :func:`split_warps`.
_WHOLE = {"num_warps": 1, "num_ctas": 1, "num_stages": 0, "shared": 0, "warp_size": 1, "tmem_size": 0,
          "global_scratch_size": 0, "global_scratch_align": 1, "profile_scratch_size": 0,
          "profile_scratch_align": 1, "maxnreg": 1, "ptx_version": 0}
_FLAGS = ("debug", "enable_fp_fusion", "enable_reflect_ftz", "launch_cooperative_grid", "launch_pdl",
          "sanitize_overflow")


def problems(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, sentence) for each value of the wrong type or out of range."""
    out = []
    for key, least in _WHOLE.items():
        value = metadata.get(key)
        if value is None:  # absent or null: the option's default
            continue
        if not _is_whole(value):
            out.append((key, f"{key} must be a whole number, not {value!r}"))
        elif value < least:
            out.append((key, f"{key} must be at least {least}, not {value!r}"))
    if metadata.get("name") is not None and not isinstance(metadata["name"], str):
        out.append(("name", f"name must be a string, not {metadata['name']!r}"))
    for key in _FLAGS:
        if metadata.get(key) is not None and not isinstance(metadata[key], bool):
            out.append((key, f"{key} must be true or false, not {metadata[key]!r}"))
    target = shape = metadata.get("target")
    if isinstance(target, list) and len(target) == 3:  # Triton's own [backend, arch, warp_size]
        shape = dict(zip(("backend", "arch"), target))
    if target is not None and not isinstance(target, str) and not (
            isinstance(shape, dict) and isinstance(shape.get("backend"), str)
            and (_is_whole(shape.get("arch")) or shape.get("backend") == "hip" and _is_gfx(shape.get("arch")))):
        out.append(("target", f"target must be like {{\"backend\": \"cuda\", \"arch\": 90, \"warp_size\": 32}} "
                              f"or \"cuda:90\", not {json.dumps(target)}"))
    return out


def _is_gfx(value: Any) -> bool:
    """An AMD arch name (gfx942)."""
    return isinstance(value, str) and re.fullmatch(r"gfx\w+", value) is not None


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _key_position(text: str, key: str) -> tuple[int | None, int | None]:
    """Line and column of ``key`` among the top-level keys of the JSON ``text``."""
    depth, i = 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            name, end = json.decoder.scanstring(text, i + 1)
            if depth == 1 and name == key and text[end:end + 64].lstrip().startswith(":"):
                line = text.count("\n", 0, i) + 1
                return line, i - text.rfind("\n", 0, i)
            i = end
            continue
        depth += c in "{["
        depth -= c in "}]"
        i += 1
    return None, None


def split_warps(options: dict[str, Any]) -> int | None:
    """Take a warp count that is not a power of 2 out of ``options`` and return it: the total of a
    warp-specialized kernel, which is what the launch needs but not a num_warps option (Triton
    asserts a power of 2; the stages below TTGIR do not read it, TTGIR states its own base)."""
    warps = options.get("num_warps")
    if _is_whole(warps) and warps & (warps - 1):
        return options.pop("num_warps")
    return None


def find_beside(level_file: str | Path) -> Path | None:
    """``k.ptx`` -> ``k.json`` if it exists."""
    candidate = Path(level_file).with_suffix(".json")
    return candidate if candidate.exists() else None


def user_options(metadata: dict[str, Any], option_fields: set[str]) -> dict[str, Any]:
    """The compile options in ``metadata`` that do not follow from the target."""
    out = {}
    for key, value in metadata.items():
        if key in option_fields and key not in TARGET_DERIVED and value is not None:
            out[key] = tuple(value) if isinstance(value, list) else value
    return out


_PTXAS_REGS = re.compile(r"Used (\d+) registers")
_PTXAS_SPILL = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
_PTXAS_STACK = re.compile(r"(\d+) bytes stack frame")


def ptxas_resources(log: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if m := _PTXAS_REGS.search(log):
        out["registers"] = int(m.group(1))
    if m := _PTXAS_SPILL.search(log):
        out["spill_stores"], out["spill_loads"] = int(m.group(1)), int(m.group(2))
    if m := _PTXAS_STACK.search(log):
        out["stack"] = int(m.group(1))
    return out


class StageMetadata(dict):
    """The metadata dict the stages write into, remembering which keys a stage set."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written: set[str] = set()

    def __setitem__(self, key, value) -> None:
        self.written.add(key)
        super().__setitem__(key, value)

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]
