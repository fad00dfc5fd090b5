"""Dumps at LLIR and PTX: a register per thread.

A register per thread for one program (or every program): one ``ptr addrspace(1)``
(LLIR) / ``.param .u64`` (PTX) parameter is inserted before Triton's two scratch
parameters, and after the chosen definition an inline PTX block reads ``%tid.x`` and
``%ctaid``, and stores the value at ``slot * threads + tid`` under a predicate.
Scalars of type i1/i8/i16/i32/i64/half/bfloat/float/double and pointers (LLIR);
registers of ``.b/.u/.s/.f`` 16/32/64-bit and ``.pred`` classes (PTX). Not supported,
and why: per-iteration dumps (below TTGIR a loop is a CFG cycle with phi nodes and no
induction variable, so there is nothing to index a slot with without inserting phis);
LLVM vector and struct values (dump an extracted element instead); which tensor
element a thread's register holds is the layout's business: the result is per thread,
not reassembled into the tensor (TTGIR is the level for that); PTX registers are not
SSA, so a register is dumped after one chosen write (by line, or its only write).

This module rewrites LLIR; :mod:`.dump_ptx` PTX.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.instrument.dump_ir import PREFIX, DumpValue, Rewrite, parse_pid, register_store
from workbench.model.diagnostics import WorkbenchError


_LL_DEF = re.compile(r"^\s*(?P<name>%[\w$.\-]+)\s*=\s*(?P<rest>.*)$")
_LL_FLAGS = {"nnan", "ninf", "nsz", "arcp", "contract", "afn", "reassoc", "fast", "nuw", "nsw", "exact", "tail",
             "musttail", "notail", "disjoint", "nneg", "samesign", "volatile", "atomic"}
_LL_SCALAR = {"i1": ("i32", "r", "b32", "bool", 4), "i8": ("i16", "h", "b8", "int8", 1),
              "i16": ("i16", "h", "b16", "int16", 2), "i32": ("i32", "r", "b32", "int32", 4),
              "i64": ("i64", "l", "b64", "int64", 8), "half": ("i16", "h", "b16", "float16", 2),
              "bfloat": ("i16", "h", "b16", "bfloat16", 2), "float": ("float", "f", "b32", "float32", 4),
              "double": ("double", "d", "b64", "float64", 8), "ptr": ("i64", "l", "b64", "int64", 8)}


def _ll_type(rest: str) -> str | None:
    """The result type of an LLVM instruction (scalars only; None when unsure)."""
    words = rest.split()
    if not words:
        return None
    op = words[0]
    i = 1
    while i < len(words) and (words[i] in _LL_FLAGS or words[i].startswith("fast")):
        i += 1
    if op in ("icmp", "fcmp"):
        return "<vector>" if "<" in rest.split(",")[0] else "i1"
    if op in ("trunc", "zext", "sext", "fptrunc", "fpext", "fptoui", "fptosi", "uitofp", "sitofp", "ptrtoint",
              "inttoptr", "bitcast", "addrspacecast"):
        m = re.search(r"\bto\s+([\w<>\s()]+?)(?:,|\s*$|\s+!)", rest)
        return m.group(1).strip().split()[0] if m else None
    if op in ("call", "tail") or op == "call":
        pass
    if op == "select":
        parts = rest.split(",")
        return parts[1].split()[0] if len(parts) > 1 else None
    if op == "extractelement":
        m = re.match(r"extractelement\s+<\d+\s+x\s+(\w+)>", rest)
        return m.group(1) if m else None
    if op in ("getelementptr", "alloca"):
        return "ptr"
    if op in ("extractvalue", "insertvalue", "shufflevector", "insertelement", "landingpad", "cmpxchg", "atomicrmw"):
        return None
    while op in ("tail", "musttail", "notail") and i < len(words):
        op = words[i]
        i += 1
    if op == "call":
        while i < len(words) and (words[i] in _LL_FLAGS or words[i].startswith("fast")):
            i += 1
        return words[i] if i < len(words) and not words[i].startswith(("{", "<")) else None
    t = words[i] if i < len(words) else None
    if t and (t.startswith("<") or t.startswith("{") or t.startswith("[")):
        return None
    return t


def rewrite_llir(text: str, values: list[str], pid: Any = (0, 0, 0), threads: int = 128,
                 file: str | None = None) -> Rewrite:
    """A copy of LLIR ``text`` that stores each chosen scalar, per thread, into a new parameter."""
    file = file or "<llir>"
    pid = parse_pid(pid) if not (isinstance(pid, tuple) and len(pid) == 3) else pid
    lines = text.split("\n")
    fi = next((i for i, r in enumerate(lines) if r.startswith("define ") and "ptx_kernel" in r), None)
    if fi is None:
        fi = next((i for i, r in enumerate(lines) if r.startswith("define ")), None)
    if fi is None:
        raise WorkbenchError.at(file, "no kernel function (define ...) in this LLIR")
    kernel = re.search(r"@([\w$.\-]+)\(", lines[fi]).group(1)
    end = next(i for i in range(fi, len(lines)) if lines[i].startswith("}"))
    defs: dict[str, int] = {}
    for i in range(fi + 1, end):
        m = _LL_DEF.match(lines[i])
        if m:
            defs[m.group("name")] = i
    params = _ll_params(lines[fi])
    dumps, inserts = [], {}
    for k, spec in enumerate(values):
        s = spec.strip()
        m = re.fullmatch(r"(?:line:|:|L)(\d+)", s)
        if m:
            i = int(m.group(1)) - 1
            dm = _LL_DEF.match(lines[i]) if 0 <= i < len(lines) else None
            if not dm or not fi < i < end:
                raise WorkbenchError.at(file, f"line {i + 1} defines no value of @{kernel}", i + 1)
            name = dm.group("name")
        else:
            name = s if s.startswith("%") else "%" + s
            if name not in defs:
                if name in [p for _, p in params]:
                    raise WorkbenchError.at(file, f"{name} is a kernel parameter: dump a value computed from it",
                                            fi + 1)
                raise WorkbenchError.at(file, f"no value {name} in @{kernel}", fi + 1)
            i = defs[name]
        rest = _LL_DEF.match(lines[i]).group("rest")
        t = _ll_type(rest)
        if t not in _LL_SCALAR:
            raise WorkbenchError.at(file, f"cannot dump {name}: only scalar values (i1..i64, half, bfloat, float, "
                                          f"double, ptr) can be dumped below TTGIR, this is "
                                          f"{t or 'a vector/struct or an instruction whose type is unclear'}", i + 1)
        cast_t, constraint, width, dtype, nbytes = _LL_SCALAR[t]
        arg = f"%{PREFIX}_buf{k}"
        at = i
        if rest.startswith("phi "):
            while at + 1 < end and re.match(r"^\s*%[\w$.\-]+\s*=\s*phi\s", lines[at + 1]):
                at += 1
        v = name
        pre = []
        if t == "i1":
            pre.append(f"  %{PREFIX}{k}_c = zext i1 {name} to i32")
            v = f"%{PREFIX}{k}_c"
        elif t == "i8":
            pre.append(f"  %{PREFIX}{k}_c = zext i8 {name} to i16")
            v = f"%{PREFIX}{k}_c"
        elif t in ("half", "bfloat"):
            pre.append(f"  %{PREFIX}{k}_c = bitcast {t} {name} to i16")
            v = f"%{PREFIX}{k}_c"
        elif t == "ptr":
            pre.append(f"  %{PREFIX}{k}_c = ptrtoint ptr {name} to i64")
            v = f"%{PREFIX}{k}_c"
        asm = register_store("", "", width, nbytes, pid, threads, dollar=True)
        pre.append(f'  call void asm sideeffect "{asm}", "l,{constraint}"(ptr addrspace(1) {arg}, {cast_t} {v})')
        inserts.setdefault(at, []).extend(pre)
        dumps.append(DumpValue(spec=spec, name=name, line=i + 1, type=t, shape=[threads], element=t, stored=t,
                               dtype=dtype, arg=arg[1:], per_thread=True, source=lines[i].strip()))
    head = lines[fi]
    scratch = 2 if len(params) >= 2 else 0
    new_params = [f"ptr addrspace(1) %{v.arg}" for v in dumps]
    out = []
    for i, row in enumerate(lines):
        if i == fi:
            row = _ll_insert_params(head, new_params, len(params) - scratch, file)
        out.append(row)
        out.extend(inserts.get(i, []))
    return Rewrite(level="llir", kernel=kernel, original=text, text="\n".join(out), values=dumps, pid=pid,
                   iterations=1, threads=threads,
                   notes=["LLIR dumps are per thread (one register each), for one store per thread: "
                          "inside a loop the last iteration's value is kept"])


def _ll_param_span(head: str) -> tuple[int, int]:
    """Where a ``define``'s parameter list starts (its open parenthesis) and ends (the close)."""
    start = head.index("(", head.index("@"))
    depth = 0
    for k in range(start, len(head)):
        if head[k] == "(":
            depth += 1
        elif head[k] == ")":
            depth -= 1
            if depth == 0:
                return start, k
    return start, start


def _ll_params(head: str) -> list[tuple[str, str]]:
    start, end = _ll_param_span(head)
    body = head[start + 1:end]
    out = []
    for part in _split_top(body):
        m = re.search(r"(%[\w$.\-]+)\s*$", part.strip())
        out.append((part.strip(), m.group(1) if m else ""))
    return out


def _split_top(body: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch in "(<{[":
            depth += 1
        elif ch in ")>}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _ll_insert_params(head: str, new: list[str], at: int, file: str) -> str:
    start, end = _ll_param_span(head)
    parts = [p.strip() for p in _split_top(head[start + 1:end])]
    parts[at:at] = new
    return head[:start + 1] + ", ".join(parts) + head[end:]
