"""Dumps at PTX: a register per thread, after one chosen write (PTX registers are not SSA: by
line, or its only write); as :mod:`.dump_llir` says for both levels."""

from __future__ import annotations

import re
from typing import Any

from workbench.instrument.dump_ir import PREFIX, DumpValue, Rewrite, parse_pid, register_store
from workbench.model.diagnostics import WorkbenchError


_PTX_REG = re.compile(r"^\s*\.reg\s+\.(?P<type>\w+)\s+(?P<names>[^;]+);")
_PTX_WIDTH = {"b16": ("b16", 2, "int16"), "u16": ("b16", 2, "int16"), "s16": ("b16", 2, "int16"),
              "f16": ("b16", 2, "float16"), "bf16": ("b16", 2, "bfloat16"),
              "b32": ("b32", 4, "int32"), "u32": ("b32", 4, "int32"), "s32": ("b32", 4, "int32"),
              "f32": ("b32", 4, "float32"), "b64": ("b64", 8, "int64"), "u64": ("b64", 8, "int64"),
              "s64": ("b64", 8, "int64"), "f64": ("b64", 8, "float64"), "pred": ("b32", 4, "bool")}


def rewrite_ptx(text: str, values: list[str], pid: Any = (0, 0, 0), threads: int = 128,
                file: str | None = None) -> Rewrite:
    """A copy of PTX ``text`` that stores each chosen register, per thread, into a new parameter.

    ``%r12`` dumps after the register's only write (an error lists the lines when there are
    several); ``line:N`` dumps the destination of the instruction at line N, after it.
    """
    file = file or "<ptx>"
    pid = parse_pid(pid) if not (isinstance(pid, tuple) and len(pid) == 3) else pid
    lines = text.split("\n")
    ei = next((i for i, r in enumerate(lines) if ".entry" in r), None)
    if ei is None:
        raise WorkbenchError.at(file, "no .entry in this PTX")
    kernel = re.search(r"\.entry\s+([\w$]+)", lines[ei]).group(1)
    pend = next(i for i in range(ei, len(lines)) if lines[i].strip().startswith(")"))
    params = [i for i in range(ei + 1, pend) if ".param" in lines[i]]
    regtypes: dict[str, str] = {}
    for row in lines:
        m = _PTX_REG.match(row)
        if m:
            for nm in m.group("names").split(","):
                regtypes[re.match(r"\s*(%?[\w$]+)", nm).group(1)] = m.group("type")
    writes: dict[str, list[int]] = {}
    for i in range(pend, len(lines)):
        m = re.match(r"^\s*(?:@!?%\w+\s+)?(?P<op>[a-z][\w.]*)\s+\{?\s*(?P<dst>%\w+)\s*[,}]", lines[i])
        if m and not m.group("op").startswith(("st.", "bar", "bra", "red.", "ret", "prefetch", "cp.", "fence")):
            writes.setdefault(m.group("dst"), []).append(i)
    dumps, inserts = [], {}
    for k, spec in enumerate(values):
        s = spec.strip()
        m = re.fullmatch(r"(?:line:|:|L)(\d+)", s)
        if m:
            i = int(m.group(1)) - 1
            reg = next((r for r, ls in writes.items() if i in ls), None)
            if reg is None:
                raise WorkbenchError.at(file, f"line {i + 1} writes no register", i + 1)
        else:
            reg = s if s.startswith("%") else "%" + s
            ls = writes.get(reg)
            if not ls:
                raise WorkbenchError.at(file, f"no write to register {reg} in {kernel}", ei + 1)
            if len(ls) > 1:
                raise WorkbenchError.at(file, f"{reg} is written on {len(ls)} lines "
                                              f"({', '.join(str(x + 1) for x in ls[:8])}): pick one with line:N",
                                        ls[0] + 1)
            i = ls[0]
        prefix = re.match(r"%[a-zA-Z]+", reg).group(0)
        rtype = regtypes.get(prefix)
        if rtype not in _PTX_WIDTH:
            raise WorkbenchError.at(file, f"cannot dump {reg}: register class {rtype or 'unknown'}", i + 1)
        width, nbytes, dtype = _PTX_WIDTH[rtype]
        op = re.match(r"^\s*(?:@!?%\w+\s+)?([a-z][\w.]*)", lines[i]).group(1)
        for suffix, wide, dt in ((".f32", "b32", "float32"), (".f64", "b64", "float64"),
                                 (".bf16", "b16", "bfloat16"), (".f16", "b16", "float16")):
            if op.endswith(suffix) and width == wide:  # an untyped register written by a float op
                dtype = dt
                break
        value = reg
        arg = f"{PREFIX}_buf{k}"
        pre = ""
        if rtype == "pred":
            pre = f".reg .b32 wbv; selp.b32 wbv, 1, 0, {reg}; "
            value = "wbv"
        asm = register_store("wbbase", value, width, nbytes, pid, threads, dollar=False)
        asm = asm.replace("{ ", "{ .reg .u64 wbbase; ld.param.u64 wbbase, [" + arg + "]; " + pre, 1)
        inserts.setdefault(i, []).append("\t" + asm)
        dumps.append(DumpValue(spec=spec, name=reg, line=i + 1, type=rtype, shape=[threads], element=rtype,
                               stored=rtype, dtype=dtype, arg=arg, per_thread=True, source=lines[i].strip()))
    out = []
    # insert params before the two scratch params (Triton appends global and profile scratch last)
    insert_before = params[-2] if len(params) >= 2 else pend
    for i, row in enumerate(lines):
        if i == insert_before:
            for v in dumps:
                out.append(f"\t.param .u64 .ptr .global .align 1 {v.arg},")
        out.append(row)
        out.extend(inserts.get(i, []))
    return Rewrite(level="ptx", kernel=kernel, original=text, text="\n".join(out), values=dumps, pid=pid,
                   iterations=1, threads=threads,
                   notes=["PTX dumps are per thread (one register each): inside a loop the last "
                          "iteration's value is kept"])
