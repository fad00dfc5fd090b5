"""Dumps at TTIR / TTGIR (MLIR): the kernel's text rewritten to store chosen values.

Any SSA value, by name (``%acc``, ``%12``, ``%acc_110#0``) or by line (``line:42``):
tensors of any rank and dtype (i1 is widened to i8, pointers are stored as i64) and,
in TTGIR, any distributed layout: the offsets and pointers are built with the value's
own encoding (``tt.make_range`` on nested ``#ttg.slice`` layouts, ``tt.expand_dims``,
``tt.broadcast``), so no ``convert_layout`` changes what the kernel does. Scalars,
function arguments, ``scf.for`` induction variables and iter_args too. Each value gets
one ``!tt.ptr<T>`` argument appended to the ``tt.func``; one more ``!tt.ptr<i32>``
argument counts how often each program reached each dump. The store is placed after
the value's definition under an ``scf.if`` on the program id (one program, default
(0,0,0), or every program at slot ``x + nx*(y + ny*z)``). Inside an ``scf.for`` the
innermost loop's iteration index ``(iv - lb) / step`` picks the slot, for the first N
iterations. The value's type comes from MLIR itself: a probe use with a wrong type is
parsed, and the parser's "expects different type" message names the real type.

Not supported: values inside ``tt.reduce``/``tt.scan`` combine regions and
``ttg.warp_specialize`` partitions (regions that cannot see the new arguments),
``!ttg.memdesc`` values (shared/tensor memory: dump the ``ttg.local_load`` result),
async tokens, values in helper functions other than the kernel. Nested loops: the
slot is the innermost loop's iteration, so an outer loop overwrites earlier outer
iterations (the last one is kept); ``scf.while`` loops have no iteration index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.compiler import scratch
from workbench.instrument.dump_ir import ELEMENT, PREFIX, DumpValue, LoopInfo, Rewrite, parse_pid
from workbench.model.diagnostics import WorkbenchError


MLIR_DEF = re.compile(r"^\s*(?P<names>%[\w$.\-]+(?::\d+)?(?:\s*,\s*%[\w$.\-]+(?::\d+)?)*)\s*=\s*(?P<rest>.*)$")
_FUNC = re.compile(r"^\s*tt\.func\s+(?:public\s+|private\s+|nested\s+)?@(?P<name>[\w$.\-]+)\s*\(")
_FOR = re.compile(r"scf\.for\s+(?P<iv>%[\w$.\-]+)\s*=\s*(?P<lb>%[\w$.\-]+)\s+to\s+(?P<ub>%[\w$.\-]+)\s+step\s+"
                  r"(?P<step>%[\w$.\-]+)(?P<rest>.*)$")
_NO_STORE_REGIONS = ("tt.reduce", "tt.scan", "tt.map_elementwise", "ttg.warp_specialize", "tt.func")
_LOC_TAIL = re.compile(r"\s+loc\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)\s*$")


def _depth_change(line: str) -> int:
    """Net ``{`` minus ``}`` outside string literals."""
    count, in_str, esc = 0, False, False
    for ch in line:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            count += 1
        elif ch == "}":
            count -= 1
    return count


def strip_loc(line: str) -> str:
    return _LOC_TAIL.sub("", line.rstrip())


@dataclass
class _Def:
    name: str          # with %, and #i for a result of a multi-result op
    line: int          # 0-based
    insert_after: int  # 0-based line after which the dump goes
    kind: str          # op | arg | iv | iter_arg | block_arg
    enclosing: list[int]  # 0-based lines of the region-opening ops around it, outermost first


class MlirIndex:
    """Where each SSA value of the kernel function is defined, and what encloses it."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = text.split("\n")
        self.defs: dict[str, _Def] = {}
        self.by_line: dict[int, list[str]] = {}
        self.func_line = -1
        self.func_end = -1
        self.kernel = ""
        self.stack_at: dict[int, list[int]] = {}
        self._index()

    def _index(self) -> None:
        lines = self.lines
        for i, row in enumerate(lines):
            m = _FUNC.match(row)
            if m and (" public " in row or self.func_line < 0):
                self.func_line, self.kernel = i, m.group("name")
                if " public " in row:
                    break
        if self.func_line < 0:
            raise WorkbenchError.at(self.file, "no tt.func in this text")
        stack: list[int] = []
        depth = 0
        for i in range(self.func_line, len(lines)):
            row = lines[i]
            change = _depth_change(row)
            self.stack_at[i] = list(stack)
            if i == self.func_line:
                self._func_args(row)
            m = MLIR_DEF.match(row)
            if m and i != self.func_line:
                self._add_op_defs(m.group("names"), i, stack, change)
            fm = _FOR.search(row)
            if fm and i != self.func_line:
                self._add_for_defs(row, fm, i, stack)
            bb = re.match(r"^\s*\^bb\d+\((?P<args>.*)\)\s*:\s*$", row)
            if bb:
                for name in re.findall(r"(%[\w$.\-]+)\s*:", bb.group("args")):
                    self._add(_Def(name, i, i, "block_arg", list(stack)))
            # closing lines first pop, then opening lines push
            if change < 0:
                for _ in range(-change):
                    if stack:
                        stack.pop()
                depth += change
            elif change > 0:
                stack.append(i)
                depth += change
                for _ in range(change - 1):
                    stack.append(i)
            if i > self.func_line and depth <= 0:
                self.func_end = i
                break
        if self.func_end < 0:
            self.func_end = len(lines) - 1

    def _add(self, d: _Def) -> None:
        self.defs.setdefault(d.name, d)
        self.by_line.setdefault(d.line, []).append(d.name)

    def _func_args(self, row: str) -> None:
        for name in re.findall(r"(%[\w$.\-]+)\s*:", row[row.index("("):]):
            self._add(_Def(name, self.func_line, self.func_line, "arg", []))

    def op_end(self, i: int, change: int) -> int:
        if change <= 0:
            return i
        depth = change
        for j in range(i + 1, len(self.lines)):
            depth += _depth_change(self.lines[j])
            if depth <= 0:
                return j
        return len(self.lines) - 1

    def _add_op_defs(self, names: str, i: int, stack: list[int], change: int) -> None:
        end = self.op_end(i, change)
        for part in re.split(r"\s*,\s*", names.strip()):
            m = re.match(r"(%[\w$.\-]+)(?::(\d+))?", part)
            base, count = m.group(1), int(m.group(2)) if m.group(2) else 1
            if count == 1:
                self._add(_Def(base, i, end, "op", list(stack)))
            else:
                self._add(_Def(base, i, end, "op", list(stack)))  # %x alone means %x#0
                for k in range(count):
                    self._add(_Def(f"{base}#{k}", i, end, "op", list(stack)))

    def _add_for_defs(self, row: str, fm: re.Match, i: int, stack: list[int]) -> None:
        inner = list(stack) + [i]
        self._add(_Def(fm.group("iv"), i, i, "iv", inner))
        it = re.search(r"iter_args\((.*?)\)\s*->", fm.group("rest"))
        if it:
            for name in re.findall(r"(%[\w$.\-]+)\s*=", it.group(1)):
                self._add(_Def(name, i, i, "iter_arg", inner))

    def loop_of(self, d: _Def) -> LoopInfo | None:
        for line in reversed(d.enclosing):
            m = _FOR.search(self.lines[line])
            if m:
                tail = strip_loc(self.lines[line])
                tm = re.search(r":\s*(i32|i64|index)\s*\{\s*$", tail)
                return LoopInfo(m.group("iv"), m.group("lb"), m.group("step"), tm.group(1) if tm else "index", line)
        return None

    def names_like(self, name: str) -> list[str]:
        stem = name.lstrip("%").split("#")[0].rstrip("0123456789_") or name.lstrip("%")
        return sorted((n for n in self.defs if n.lstrip("%").startswith(stem) and "#" not in n),
                      key=lambda n: (len(n), n))[:6]


def resolve_value(index: MlirIndex, spec: str, file: str) -> _Def:
    s = spec.strip()
    m = re.fullmatch(r"(?:line:|:|L)(\d+)", s)
    if m:
        line = int(m.group(1)) - 1
        names = [n for n in index.by_line.get(line, []) if "#" not in n or n.endswith("#0")]
        if not names:
            raise WorkbenchError.at(file, f"line {line + 1} defines no SSA value of the kernel", line + 1)
        return index.defs[names[0]]
    name = s if s.startswith("%") else "%" + s
    d = index.defs.get(name)
    if d is None:
        like = index.names_like(name)
        hint = f"; did you mean {', '.join(like)}?" if like else ""
        raise WorkbenchError.at(file, f"no SSA value {name} in @{index.kernel}{hint}", index.func_line + 1)
    return d


def _parse_text(text: str, target: str = "cuda:90") -> str | None:
    """Parse MLIR text; the parser's message on failure, None on success."""
    from workbench.compiler import compat
    from workbench.compiler.isolate import captured_output
    backend = compat.make_backend(compat.parse_target(target))
    context = compat.new_context(backend)
    with scratch.folder() as folder:
        path = folder / "rewrite.mlir"
        path.write_text(text)
        with captured_output() as buf:
            try:
                compat.parse_mlir_file(str(path), context)
                err = None
            except Exception as e:  # noqa: BLE001
                err = str(e)
        return None if err is None else err + "\n" + buf.getvalue()


def _type_of(index: MlirIndex, d: _Def, spec: str) -> str:
    """The value's type, as MLIR's parser reports it for a use with the wrong type."""
    lines = list(index.lines)
    lines.insert(d.insert_after + 1, f"    %{PREFIX}probe = arith.bitcast {d.name} : none to none")
    msg = _parse_text("\n".join(lines)) or ""
    m = re.search(r"expects different type than prior uses: 'none' vs '(.*)'", msg)
    if not m:
        first = next((r for r in msg.splitlines() if "error" in r), msg.strip()[:200])
        raise WorkbenchError.at(index.file, f"cannot tell the type of {spec}: {first}", d.line + 1)
    return m.group(1)


def _split_tensor(t: str) -> tuple[list[int], str, str | None]:
    """``tensor<128x64xf16, #enc>`` -> ([128, 64], 'f16', '#enc'); a scalar -> ([], t, None)."""
    t = t.strip()
    if not t.startswith("tensor<"):
        return [], t, None
    body = t[len("tensor<"):-1]
    depth, cut = 0, None
    for k, ch in enumerate(body):
        if ch in "<({[":
            depth += 1
        elif ch in ">)}]":
            depth -= 1
        elif ch == "," and depth == 0:
            cut = k
            break
    shape_elem, enc = (body[:cut], body[cut + 1:].strip()) if cut is not None else (body, None)
    dims = []
    rest = shape_elem
    while True:
        m = re.match(r"(\d+)x", rest)
        if not m:
            break
        dims.append(int(m.group(1)))
        rest = rest[m.end():]
    return dims, rest, enc


def _tensor(shape: list[int], elem: str, enc: str | None) -> str:
    dims = "".join(f"{d}x" for d in shape)
    return f"tensor<{dims}{elem}{', ' + enc if enc else ''}>"


def _slice_enc(enc: str | None, dim: int) -> str | None:
    if enc is None:
        return None
    return f"#ttg.slice<{{dim = {dim}, parent = {enc}}}>"


class _Emitter:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.n = 0
        self.out: list[str] = []

    def new(self) -> str:
        self.n += 1
        return f"%{PREFIX}{self.tag}_{self.n}"

    def op(self, text: str, indent: str) -> str:
        name = self.new()
        self.out.append(f"{indent}{name} = {text}")
        return name

    def raw(self, text: str, indent: str) -> None:
        self.out.append(f"{indent}{text}")


def _const_i32(em: _Emitter, value: int, ind: str) -> str:
    return em.op(f"arith.constant {value} : i32", ind)


def _linear_offsets(em: _Emitter, shape: list[int], enc: str | None, ind: str) -> str:
    """An i32 tensor of the row-major linear index of each element, in ``enc``."""
    rank = len(shape)
    strides = [1] * rank
    for k in range(rank - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    full = _tensor(shape, "i32", enc)
    total = None
    for k in range(rank):
        # encodings from rank r down to 1, dropping every axis but k, highest first
        encs = [enc]
        dropped = [a for a in range(rank - 1, -1, -1) if a != k]
        cur = enc
        for a in dropped:
            cur = _slice_enc(cur, a)
            encs.append(cur)
        r = em.op(f"tt.make_range {{end = {shape[k]} : i32, start = 0 : i32}} : {_tensor([shape[k]], 'i32', encs[-1])}",
                  ind)
        # expand back: re-insert the dropped axes, lowest first
        cur_shape = [shape[k]]
        for step, a in enumerate(reversed(dropped)):
            new_shape = list(cur_shape)
            new_shape.insert(a, 1)
            src_t = _tensor(cur_shape, "i32", encs[len(encs) - 1 - step])
            dst_t = _tensor(new_shape, "i32", encs[len(encs) - 2 - step])
            r = em.op(f"tt.expand_dims {r} {{axis = {a} : i32}} : {src_t} -> {dst_t}", ind)
            cur_shape = new_shape
        if rank > 1:
            src_t = _tensor(cur_shape, "i32", enc)
            if cur_shape != shape:
                r = em.op(f"tt.broadcast {r} : {src_t} -> {full}", ind)
        if strides[k] != 1:
            c = em.op(f"arith.constant dense<{strides[k]}> : {full}", ind)
            r = em.op(f"arith.muli {r}, {c} : {full}", ind)
        total = r if total is None else em.op(f"arith.addi {total}, {r} : {full}", ind)
    return total  # type: ignore[return-value]


def _pid_code(em: _Emitter, pid, ind: str) -> tuple[str, str]:
    """(i1 condition 'this program dumps', i32 program slot)."""
    ids = [em.op(f"tt.get_program_id {ax} : i32", ind) for ax in "xyz"]
    if pid == "all":
        nx = em.op("tt.get_num_programs x : i32", ind)
        ny = em.op("tt.get_num_programs y : i32", ind)
        t = em.op(f"arith.muli {ids[2]}, {ny} : i32", ind)
        t = em.op(f"arith.addi {t}, {ids[1]} : i32", ind)
        t = em.op(f"arith.muli {t}, {nx} : i32", ind)
        slot = em.op(f"arith.addi {t}, {ids[0]} : i32", ind)
        cond = em.op("arith.constant true", ind)
        return cond, slot
    cond = None
    for v, want in zip(ids, pid):
        c = _const_i32(em, want, ind)
        eq = em.op(f"arith.cmpi eq, {v}, {c} : i32", ind)
        cond = eq if cond is None else em.op(f"arith.andi {cond}, {eq} : i1", ind)
    return cond, _const_i32(em, 0, ind)  # type: ignore[return-value]


def _iteration(em: _Emitter, loop: LoopInfo, ind: str) -> str:
    t = loop.iv_type
    d = em.op(f"arith.subi {loop.iv}, {loop.lb} : {t}", ind)
    q = em.op(f"arith.divsi {d}, {loop.step} : {t}", ind)
    if t == "i32":
        return q
    if t == "i64":
        return em.op(f"arith.trunci {q} : i64 to i32", ind)
    return em.op(f"arith.index_cast {q} : index to i32", ind)


def _dump_code(v: DumpValue, k: int, pid, iterations: int, hits_arg: str, ind: str) -> list[str]:
    em = _Emitter(str(k))
    cond, slot = _pid_code(em, pid, ind)
    shape, elem, enc = v.shape, v.element, v.encoding
    numel = 1
    for s in shape:
        numel *= s
    if v.loop is not None:
        it = _iteration(em, v.loop, ind)
        one = _const_i32(em, 1, ind)
        hits = em.op(f"arith.addi {it}, {one} : i32", ind)
        n = _const_i32(em, iterations, ind)
        inb = em.op(f"arith.cmpi slt, {it}, {n} : i32", ind)
        store_cond = em.op(f"arith.andi {cond}, {inb} : i1", ind)
        iters = n
    else:
        it = _const_i32(em, 0, ind)
        hits = _const_i32(em, 1, ind)
        store_cond = cond
        iters = _const_i32(em, 1, ind)
    # hit counter: counts[k, slot] = times reached (last iteration + 1)
    em.raw(f"scf.if {cond} {{", ind)
    ind2 = ind + "  "
    nslots = em.op("tt.get_num_programs x : i32", ind2) if pid == "all" else None
    if nslots is not None:
        ny = em.op("tt.get_num_programs y : i32", ind2)
        nz = em.op("tt.get_num_programs z : i32", ind2)
        nslots = em.op(f"arith.muli {nslots}, {ny} : i32", ind2)
        nslots = em.op(f"arith.muli {nslots}, {nz} : i32", ind2)
        kk = _const_i32(em, k, ind2)
        base = em.op(f"arith.muli {kk}, {nslots} : i32", ind2)
        hoff = em.op(f"arith.addi {base}, {slot} : i32", ind2)
    else:
        hoff = _const_i32(em, k, ind2)
    hp = em.op(f"tt.addptr {hits_arg}, {hoff} : !tt.ptr<i32>, i32", ind2)
    em.raw(f"tt.store {hp}, {hits} : !tt.ptr<i32>", ind2)
    em.raw("}", ind)
    # the value itself
    em.raw(f"scf.if {store_cond} {{", ind)
    t = em.op(f"arith.muli {slot}, {iters} : i32", ind2)
    t = em.op(f"arith.addi {t}, {it} : i32", ind2)
    nconst = _const_i32(em, numel, ind2)
    base = em.op(f"arith.muli {t}, {nconst} : i32", ind2)
    value = v.name
    stored = v.stored
    if elem == "i1":
        value = em.op(f"arith.extui {value} : {_tensor(shape, 'i1', enc) if shape else 'i1'} to "
                      f"{_tensor(shape, 'i8', enc) if shape else 'i8'}", ind2)
    elif elem.startswith("!tt.ptr"):
        value = em.op(f"tt.ptr_to_int {value} : {_tensor(shape, elem, enc) if shape else elem} -> "
                      f"{_tensor(shape, 'i64', enc) if shape else 'i64'}", ind2)
    ptr = f"!tt.ptr<{stored}>"
    if not shape:
        p = em.op(f"tt.addptr {v.arg}, {base} : {ptr}, i32", ind2)
        em.raw(f"tt.store {p}, {value} : {ptr}", ind2)
    else:
        offs = _linear_offsets(em, shape, enc, ind2)
        it_t = _tensor(shape, "i32", enc)
        b = em.op(f"tt.splat {base} : i32 -> {it_t}", ind2)
        offs = em.op(f"arith.addi {offs}, {b} : {it_t}", ind2)
        pt = _tensor(shape, ptr, enc)
        ps = em.op(f"tt.splat {v.arg} : {ptr} -> {pt}", ind2)
        pp = em.op(f"tt.addptr {ps}, {offs} : {pt}, {it_t}", ind2)
        em.raw(f"tt.store {pp}, {value} : {pt}", ind2)
    em.raw("}", ind)
    return em.out


def _append_func_args(row: str, args: list[tuple[str, str]], file: str, line: int) -> str:
    start = row.index("(", row.index("@"))
    depth, end = 0, None
    in_str = False
    for k in range(start, len(row)):
        ch = row[k]
        if ch == '"':
            in_str = not in_str
        if in_str:
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                end = k
                break
    if end is None:
        raise WorkbenchError.at(file, "cannot find the end of the tt.func argument list", line)
    extra = ", ".join(f"{name}: {t} {{tt.divisibility = 16 : i32}}" for name, t in args)
    sep = ", " if row[start + 1:end].strip() else ""
    return row[:end] + sep + extra + row[end:]


def rewrite_mlir(text: str, level: str, values: list[str], pid: Any = (0, 0, 0), iterations: int = 16,
                 file: str | None = None, at_lines: dict[int, int] | None = None) -> Rewrite:
    """A copy of TTIR/TTGIR ``text`` that stores each of ``values`` into a new buffer argument.

    ``at_lines`` (value index -> 0-based line): dump there instead of after the definition,
    and drop that line (how Python-level ``dump`` markers become dumps).
    """
    at_lines = at_lines or {}
    file = file or f"<{level}>"
    if not values:
        raise WorkbenchError.at(file, "no value to dump: pass --value %name or --value line:N")
    if f"%{PREFIX}" in text:
        raise WorkbenchError.at(file, f"this text already holds dump code (names starting %{PREFIX})")
    pid = parse_pid(pid) if not (isinstance(pid, tuple) and len(pid) == 3) else pid
    if iterations < 1:
        raise WorkbenchError.at(file, "--iterations must be at least 1")
    index = MlirIndex(text, file)
    lines = list(index.lines)
    dumps: list[DumpValue] = []
    inserts: dict[int, list[str]] = {}
    hits_arg = f"%{PREFIX}_hits"
    for k, spec in enumerate(values):
        d = resolve_value(index, spec, file)
        if k in at_lines:
            where = at_lines[k]
            d = _Def(d.name, d.line, where, d.kind if d.kind != "arg" else "op", index.stack_at.get(where, []))
        if d.kind == "block_arg":
            raise WorkbenchError.at(file, f"{d.name} is an argument of a combine region (tt.reduce/tt.scan): "
                                          f"dump the reduction's result instead", d.line + 1)
        for enc_line in d.enclosing:
            head = lines[enc_line].strip()
            head = head.split("=", 1)[1].strip() if MLIR_DEF.match(lines[enc_line]) else head
            if any(head.lstrip('"').startswith(op) for op in _NO_STORE_REGIONS[:-1]):
                raise WorkbenchError.at(file, f"{d.name} is inside a {head.split()[0].strip(chr(34))} region, "
                                              f"which cannot store to a kernel argument: dump a value outside it",
                                        d.line + 1)
        vtype = _type_of(index, d, spec)
        shape, elem, enc = _split_tensor(vtype)
        if elem.startswith("!ttg.") or elem.startswith("!ttng.") or vtype.startswith("!ttg."):
            raise WorkbenchError.at(file, f"{d.name} is {vtype.split('<')[0]}, not a register value: dump the value "
                                          f"loaded from it (ttg.local_load) instead", d.line + 1)
        if elem == "i1":
            stored = "i8"
        elif elem.startswith("!tt.ptr"):
            stored = "i64"
        elif elem in ELEMENT:
            stored = elem
        else:
            raise WorkbenchError.at(file, f"cannot dump {d.name} of type {vtype}", d.line + 1)
        dtype = "bool" if elem == "i1" else ELEMENT[stored][0]
        loop = index.loop_of(d) if d.kind != "arg" else None
        arg = f"%{PREFIX}_buf{k}"
        dv = DumpValue(spec=spec, name=d.name, line=d.line + 1, type=vtype, shape=shape, element=elem, stored=stored,
                       dtype=dtype, arg=arg, encoding=enc, loop=loop, source=strip_loc(lines[d.line]).strip())
        dumps.append(dv)
        at = d.insert_after
        ind = re.match(r"^(\s*)", lines[at + 1] if d.kind in ("arg", "iv", "iter_arg") else lines[at]).group(1)
        inserts.setdefault(at, []).extend(_dump_code(dv, k, pid, iterations, hits_arg, ind))
    out: list[str] = []
    for i, row in enumerate(lines):
        if i == index.func_line:
            row = _append_func_args(row, [(v.arg, f"!tt.ptr<{v.stored}>") for v in dumps] +
                                    [(hits_arg, "!tt.ptr<i32>")], file, i + 1)
        if i not in at_lines.values():
            out.append(row)
        out.extend(inserts.get(i, []))
    return Rewrite(level=level, kernel=index.kernel, original=text, text="\n".join(out), values=dumps, pid=pid,
                   iterations=iterations, hits_arg=hits_arg)


def marker_values(ttir: str) -> list[tuple[int, str, int]]:
    """``tt.print`` markers left by :func:`workbench.language.dump` in marker mode:
    [(marker index, operand name, 0-based line)]."""
    out = []
    for i, row in enumerate(ttir.split("\n")):
        m = re.search(r'tt\.print\s+"\s*' + PREFIX + r'marker(\d+)\s*:?\s*"\s*(?:\{[^}]*\}\s*)?:\s*(%[\w$.\-#]+)', row)
        if m:
            out.append((int(m.group(1)), m.group(2), i))
    return out
