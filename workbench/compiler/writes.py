"""Which pointer arguments a kernel stores through and which it reads through, read off its TTIR.

A replay poisons an output before the launch, so that an element the kernel no longer writes
shows (``runtime.verify.poison``); it poisons only outputs the original writes in full without
reading them. The capture sees an output as one where the launch changed bytes; a launch into a
buffer that held the answer already (a script that runs a kernel twice into one buffer, or
recomputes a result in place) changes none, and was never poisoned. Poisoning every tensor to
find out would poison index inputs too: the trial launch would read garbage addresses.

Here the TTIR says it instead: every value derived from a pointer argument (through any op,
loop-carried values and region results included) is followed to the ops that use it. An argument
some store reaches and no load, atomic, call, inline assembly or unknown op does is store-only:
poisoning it cannot change an address the kernel computes, and the trial launch (the original,
checked against what the script saw) decides whether it is written in full. Wherever the module
is not one this can follow (several blocks, a Triton without the bindings), it answers None.
"""

from __future__ import annotations

# ops that only compute with a pointer (or a value made from one): they read no memory
_PURE_PREFIXES = ("arith.", "math.")
_PURE = {
    "tt.splat", "tt.addptr", "tt.broadcast", "tt.expand_dims", "tt.reshape", "tt.trans", "tt.bitcast",
    "tt.ptr_to_int", "tt.int_to_ptr", "tt.make_tensor_ptr", "tt.advance", "tt.make_tensor_descriptor",
    "tt.join", "tt.split", "tt.cat", "tt.reduce", "tt.reduce.return", "tt.scan", "tt.scan.return",
    "tt.print", "tt.assert", "tt.return", "tt.func", "tt.make_range", "tt.get_program_id", "tt.get_num_programs",
    "tt.histogram", "tt.precise_sqrt", "tt.precise_divf", "tt.mulhiui", "tt.clampf", "tt.fp_to_fp", "tt.dot",
    "tt.dot_scaled", "scf.for", "scf.if", "scf.yield", "scf.while", "scf.condition", "builtin.module",
}
_STORES = {"tt.store", "tt.descriptor_store", "tt.descriptor_scatter"}


def pointer_uses(ttir: str, names: list[str], backend) -> dict[str, tuple[bool, bool]] | None:
    """For each of ``names`` (the TTIR function's arguments, in order): whether a store reaches it,
    and whether a read (or an op not known here) does; None where the module cannot be followed."""
    from workbench.compiler.sources import parse_mlir
    try:
        module = parse_mlir(backend, ttir, "kernel.ttir")
        ops: list = []
        module.walk(ops.append)
        return _follow(ops, names)
    except Exception:  # noqa: BLE001 - (a Triton whose bindings lack what this reads: no answer)
        return None


def _follow(ops: list, names: list[str]) -> dict[str, tuple[bool, bool]] | None:
    funcs = [op for op in ops if op.get_name() == "tt.func"]
    if len(funcs) != 1:
        return None   # (a module with calls: the callee's uses are not followed)
    body_region = funcs[0].get_region(0).id()
    # every op's operands, results and region ids; the op holding each region; each region's blocks
    holder, blocks = {}, {}
    facts = []
    for op in ops:
        regions = [op.get_region(i).id() for i in range(op.get_num_regions())]
        for r in regions:
            holder[r] = len(facts)
        block = op.get_block()
        region = block.get_parent().id() if block is not None else None
        if block is not None:
            blocks.setdefault(region, {})[block.id()] = block
        facts.append((op.get_name(), [op.get_operand(i).id() for i in range(op.get_num_operands())],
                      [op.get_result(i).id() for i in range(op.get_num_results())], regions, region))
    if len(blocks.get(body_region, {})) != 1:
        return None   # (branches between blocks: not followed)
    entry = next(iter(blocks[body_region].values()))
    args = [entry.arg(i).id() for i in range(entry.get_num_arguments())]
    if len(args) != len(names):
        return None
    block_args = {r: [b.arg(i).id() for b in bs.values() for i in range(b.get_num_arguments())]
                  for r, bs in blocks.items()}
    # each value: the arguments it is made from, as a bit mask; grown until nothing changes
    made = {v: 1 << i for i, v in enumerate(args)}

    def flows(fact):
        """(operand, value) pairs: what each operand of this op makes (None: any operand, all)."""
        name, operands, results, regions, region = fact
        if name == "scf.for":   # lb, ub, step give the induction variable; init i gives iter arg i, result i
            body = block_args.get(regions[0], [])
            pairs = [(v, body[0]) for v in operands[:3] if body]
            for i, v in enumerate(operands[3:]):
                pairs += [(v, w) for w in (body[1 + i:2 + i] + results[i:i + 1])]
            return pairs
        if name == "scf.if":
            return []   # (its condition chooses; it makes no value)
        up = facts[holder[region]] if region in holder and region != body_region else None
        if name == "scf.yield" and up is not None and up[0] in ("scf.for", "scf.if"):
            loop = block_args.get(up[3][0], []) if up[0] == "scf.for" else []
            return [(v, w) for i, v in enumerate(operands) for w in up[2][i:i + 1] + loop[1 + i:2 + i]]
        out = list(results)
        for r in regions:
            out += block_args.get(r, [])
        if up is not None and name.endswith((".yield", ".return", ".condition")):
            # a region's terminator elsewhere: the holder's results and block values
            out += up[2]
            for r in up[3]:
                out += block_args.get(r, [])
        return [(None, w) for w in out]

    edges = []
    for fact in facts:
        for v, w in flows(fact):
            edges.append((fact[1] if v is None else [v], w))
    changed = True
    while changed:
        changed = False
        for sources, w in edges:
            mask = 0
            for v in sources:
                mask |= made.get(v, 0)
            if mask and made.get(w, 0) | mask != made.get(w, 0):
                made[w] = made.get(w, 0) | mask
                changed = True
    stored = read = 0
    for name, operands, _, _, _ in facts:
        mask = 0
        for v in operands:
            mask |= made.get(v, 0)
        if name in _STORES:
            stored |= mask
        elif name not in _PURE and not name.startswith(_PURE_PREFIXES):
            read |= mask   # a load, an atomic, inline assembly, a call, or an op not known here
    return {n: (bool(stored >> i & 1), bool(read >> i & 1)) for i, n in enumerate(names)}
