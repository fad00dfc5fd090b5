"""The launch path of ``@workbench.jit`` (issue 16): a launch skips Triton's Python binding
only where Triton would launch the same binary.

CPU tests compare against Triton itself: its binder and cache key on the same (CPU) tensors,
and its own ``kernel[grid]()`` launched through a driver whose C launch records its arguments
(``recording_driver.py``: everything above the C call is Triton's and ours). GPU tests compare
results, hooks, graph capture and streams on the device.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import triton
import triton.language as tl
from triton import knobs

import workbench
from recording_driver import launch_args, recording

SCALE = tl.constexpr(2.0)


def body(x_ptr, y_ptr, n, alpha, flag, m, maybe_ptr, BLOCK: tl.constexpr, MODE: tl.constexpr = 0):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    v = tl.load(x_ptr + offs, mask=mask) * alpha
    if MODE == 1:
        v = v + m
    if maybe_ptr is not None:
        v = v + tl.load(maybe_ptr + offs, mask=mask)
    if flag:
        v = -v
    tl.store(y_ptr + offs, v.to(y_ptr.dtype.element_ty), mask=mask)


def scaled(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * SCALE, mask=offs < n)


X = torch.rand(4096)
Y = torch.empty(4096)
Z = torch.rand(4096)


def _cases() -> list[tuple[str, tuple, dict]]:
    """Argument sets that differ in one thing each: every check of the issue."""
    base = (X, Y, 4096, 2.0, True, 3, None)
    kw = {"BLOCK": 128}

    def with_(i, v):
        return tuple(v if j == i else a for j, a in enumerate(base))
    cases = [("base", base, kw), ("other aligned tensors", (Z, torch.empty(4096)) + base[2:], kw),
             ("x misaligned", with_(0, X[1:]), kw), ("x 16-byte aligned view", with_(0, X[4:]), kw),
             ("x fp16", with_(0, X.half()), kw), ("y int32", with_(1, torch.empty(4096, dtype=torch.int32)), kw),
             ("maybe tensor", with_(6, Z), kw), ("maybe misaligned", with_(6, Z[3:]), kw),
             ("alpha 3.5", with_(3, 3.5), kw), ("alpha int", with_(3, 2), kw), ("flag False", with_(4, False), kw),
             ("flag int 1", with_(4, 1), kw), ("flag int 0", with_(4, 0), kw)]
    for v in (1, 0, 16, 17, 5, 4095, -1, -16, 2**31 - 16, 2**31, 2**40 + 16, 2**63 - 1, 2**63, 2**63 + 16,
              2**64 - 1):
        cases.append((f"n={v}", with_(2, v), kw))
    for v in (1, 16, 17):  # m is do_not_specialize: Triton keys only its type
        cases.append((f"m={v}", with_(5, v), kw))
    cases += [("BLOCK 256", base, {"BLOCK": 256}), ("BLOCK True", base, {"BLOCK": True}),
              ("BLOCK 1", base, {"BLOCK": 1}), ("BLOCK 1.0", base, {"BLOCK": 1.0}),
              ("MODE 0 given", base, {"BLOCK": 128, "MODE": 0}), ("MODE 1", base, {"BLOCK": 128, "MODE": 1}),
              ("MODE before BLOCK", base, {"MODE": 1, "BLOCK": 128}),
              ("BLOCK positional", base + (128,), {}), ("BLOCK, MODE positional", base + (128, 1), {}),
              ("n by name", base[:2], {"n": 4096, "alpha": 2.0, "flag": True, "m": 3, "maybe_ptr": None, "BLOCK": 128}),
              ("num_warps 4", base, {"BLOCK": 128, "num_warps": 4}), ("num_warps 8", base, {"BLOCK": 128, "num_warps": 8}),
              ("debug", base, {"BLOCK": 128, "debug": True}), ("ttgir_dir str", base, {"BLOCK": 128, "ttgir_dir": "a"}),
              ("ttgir_dir other", base, {"BLOCK": 128, "ttgir_dir": "b"})]
    return cases


def _triton_key(fn, args, kwargs):
    """Triton's own kernel cache key for these arguments (its binder and compute_cache_key)."""
    from triton.runtime.jit import compute_cache_key
    _, key_cache, _, _, binder = fn.device_caches[0]
    kw = dict(kwargs)
    kw["debug"] = kw.get("debug", fn.debug) or knobs.runtime.debug
    kw["instrumentation_mode"] = knobs.compilation.instrumentation_mode
    _, specialization, options = binder(*args, **kw)
    return compute_cache_key(key_cache, specialization, options)


def _fingerprint(fast, args, kwargs):
    from workbench.runtime.fastlaunch import key_mode, native
    fn = fast.fn
    kwflags = {p.name: key_mode(p) for p in fn.params}
    flags = bytes(kwflags.values())
    found = native().fingerprint(flags, kwflags, args, kwargs, 0, fn.debug, knobs.runtime.debug,
                                 knobs.compilation.instrumentation_mode)
    if found is not None:
        assert found[1] is args  # CPU tensors go to the launcher as they are (it refuses them)
    return found and found[0]


@pytest.mark.parametrize("options", [{"do_not_specialize": ["m"]},
                                     {"do_not_specialize_on_alignment": ["x_ptr", "n"]}])
def test_equal_fingerprints_mean_equal_triton_keys_for_every_case_of_the_issue(options):
    """Pairwise over every case: where the fingerprints agree, Triton's keys agree (the fast
    path can never pick another binary than Triton would); and arguments that specialize alike
    share a fingerprint (the cache does not grow with the values of sizes)."""
    from workbench.runtime.fastlaunch import FastLaunch
    fn = triton.jit(**options)(body)
    with recording():
        fast = FastLaunch(fn)
        rows = []
        for name, args, kwargs in _cases():
            try:
                tkey = _triton_key(fn, args, kwargs)
            except Exception as e:  # noqa: BLE001  (Triton refuses: the fast path must not know it)
                tkey = ("refused", type(e).__name__)
            rows.append((name, _fingerprint(fast, args, kwargs), tkey))
    by_name = {name: (fp, tkey) for name, fp, tkey in rows}
    for (a, fa, ta), (b, fb, tb) in itertools.combinations(rows, 2):
        if fa is not None and fa == fb:
            assert ta == tb, f"{a} and {b} share a fingerprint but Triton keys them apart"
    assert by_name[f"n={2**64 - 1}"][0] is not None and by_name[f"n={2**64 - 1}"][1] != by_name["base"][1]  # u64
    alike = [("base", "other aligned tensors"), ("base", "n=16"), ("n=5", "n=4095"), ("n=17", "n=-1"),
             ("n=16", "n=2147483632"), ("base", "alpha 3.5"), ("base", "flag False"), ("base", "x 16-byte aligned view")]
    alike += [("m=16", "m=17")] if "do_not_specialize" in options else [("base", "x misaligned"), ("n=16", "n=17")]
    for a, b in alike:
        assert by_name[a][1] == by_name[b][1], (a, b)  # Triton specializes them alike
        assert by_name[a][0] == by_name[b][0], (a, b)  # so does the fingerprint
    # every case Triton keys apart from the base, the fingerprint does too
    differ = [n for n, (fp, tk) in by_name.items() if tk != by_name["base"][1]]
    assert {"x fp16", "y int32", "maybe tensor", "n=1", "n=2147483648", f"n={2**63}", "alpha int", "flag int 1",
            "BLOCK 256", "MODE 1", "num_warps 8", "debug", "ttgir_dir str"} <= set(differ)
    assert all(by_name[n][0] != by_name["base"][0] for n in differ)


def test_an_argument_the_fingerprint_does_not_know_goes_through_triton():
    from workbench.runtime.fastlaunch import FastLaunch
    fn = triton.jit(body)
    with recording():
        fast = FastLaunch(fn)
        base = (X, Y, 4096, 2.0, True, 3, None)
        assert _fingerprint(fast, base, {"BLOCK": 128}) is not None
        assert _fingerprint(fast, (X, Y, (1, 2)) + base[3:], {"BLOCK": 128}) is None  # a tuple
        assert _fingerprint(fast, (X, Y, 2**64) + base[3:], {"BLOCK": 128}) is None  # Triton raises OverflowError
        assert _fingerprint(fast, base + (128, 0, 7), {}) is None  # too many arguments: Triton's TypeError


class _DeviceTensor:
    """What the fingerprint reads of a CUDA tensor, for a machine with none."""

    def __init__(self, ptr: int, cuda: bool = True) -> None:
        self.ptr, self.dtype, self.is_cuda = ptr, torch.float32, cuda

    def data_ptr(self) -> int:
        return self.ptr


def test_cuda_tensors_go_to_the_launcher_as_their_data_pointers():
    """The launcher would look each CUDA tensor's pointer up again (data_ptr() and
    cuPointerGetAttribute): it gets the pointer the fingerprint read; anything else (a CPU
    tensor the launcher refuses, pinned host memory it translates) goes as it is."""
    from workbench.runtime.fastlaunch import native
    mod = native()
    mod.set_tensor_types((torch.Tensor, torch.nn.Parameter, _DeviceTensor))
    try:
        a, b, host = _DeviceTensor(4096), _DeviceTensor(4100), _DeviceTensor(8192, cuda=False)
        args = (a, X, b, 7, host)
        key, launch = mod.fingerprint(bytes(5), {}, args, {"t": _DeviceTensor(16)})
        assert launch == (4096, X, 4100, 7, host) and args == (a, X, b, 7, host)  # a new tuple; the call's is kept
        assert launch[1] is X and launch[4] is host
        misaligned, _ = mod.fingerprint(bytes(5), {}, (_DeviceTensor(4104),) + args[1:], {"t": _DeviceTensor(16)})
        assert misaligned != key
        plain = (X, 7)
        assert mod.fingerprint(bytes(2), {}, plain, {})[1] is plain
    finally:
        mod.set_tensor_types((torch.Tensor, torch.nn.Parameter))


def _pair():
    return triton.jit(do_not_specialize=["m"])(body), workbench.jit(triton.jit(do_not_specialize=["m"])(body))


def test_each_launch_is_the_one_triton_makes(tmp_path):
    """The same launches through ``triton.jit`` and ``workbench.jit``: the C launcher gets the
    same binary, grid, stream and arguments every time, new specializations compile as many
    binaries, and repeated ones take the fast path (no hook chains passed)."""
    native, ours = _pair()
    chosen = {"base", "other aligned tensors", "x misaligned", "x fp16", "y int32", "maybe misaligned", "alpha int",
              "flag False", "flag int 1", "n=1", "n=17", "n=-1", f"n={2**31}", f"n={2**63}", "m=1", "BLOCK 1", "MODE 1",
              "MODE before BLOCK", "BLOCK, MODE positional", "n by name", "num_warps 8"}
    calls = [((4,), _cases()[0][1], {"BLOCK": 128})] * 3
    calls += [((2, 3), args, kwargs) for name, args, kwargs in _cases() * 2 if name in chosen]
    calls += [((lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]), meta["MODE"] + 1)), _cases()[0][1],
               {"BLOCK": 64})] * 2
    with recording() as drv:
        for i, (grid, args, kwargs) in enumerate(calls):
            drv.stream = 100 + i
            native[grid](*args, **kwargs)
            theirs = drv.launches[-1]
            ours[grid](*args, **kwargs)
            mine = drv.launches[-1]
            assert launch_args(mine) == launch_args(theirs), calls[i]
            assert mine[1][3] == 100 + i  # the current stream, read at each launch
        assert len(ours.device_caches[0][0]) == len(native.device_caches[0][0]) >= 12
        fast = [r for r in drv.launches[1::2] if r[1][11] is None]
        # every launch was fast but the first of each fingerprint (Triton's path, then remembered)
        assert len(fast) == len(calls) - len(ours._fast.entries) and len(ours._fast.entries) <= len(chosen) + 2


def test_a_launch_triton_refuses_is_refused_the_same_way():
    native, ours = _pair()
    base = (X, Y, 4096, 2.0, True, 3, None)
    with recording():
        ours[(1,)](*base, BLOCK=128)
        for args, kwargs in [((X, Y, 2**64) + base[3:], {"BLOCK": 128}), (base, {}), (base, {"BLOCK": 128, "bogus": 1}),
                             (base + (128,), {"BLOCK": 128})]:
            with pytest.raises(Exception) as theirs:
                native[(1,)](*args, **kwargs)
            with pytest.raises(type(theirs.value)) as mine:
                ours[(1,)](*args, **kwargs)
            assert str(mine.value) == str(theirs.value)


def test_a_level_folder_compiled_for_other_arguments_is_refused_on_the_fast_path(tmp_path):
    """A TTGIR bakes in the specialization: once a launch from it went fast, a misaligned
    pointer still reaches the refusal (another key: Triton's path, the level's check)."""
    from workbench.model.diagnostics import WorkbenchError
    kernel = workbench.jit(scaled)
    kernel.save_levels(tmp_path, X, Y, 4096, BLOCK=128)
    with recording() as drv:
        for _ in range(3):
            kernel[(32,)](X, Y, 4096, BLOCK=128, ttgir_dir=tmp_path)
        assert drv.launches[-1][1][11] is None  # fast
        with pytest.raises(WorkbenchError, match="this TTGIR was compiled for other arguments"):
            kernel[(32,)](X[1:], Y, 4095, BLOCK=128, ttgir_dir=tmp_path)
        kernel[(32,)](X[1:], Y, 4095, BLOCK=128)  # from the Python: compiles its own binary
        assert len(drv.launches) == 4


def test_a_version_folder_launches_on_the_fast_path(tmp_path):
    """``version_dir=`` is a keyword like ``ttgir_dir=``: the first launch compiles the version's
    level (Triton's path), the next ones are fast, with the version's binary."""
    import json
    from workbench.api import shared_compiler
    from workbench.session.workspace import Workspace
    kernel = workbench.jit(scaled)
    levels = kernel.save_levels(tmp_path / "levels", X, Y, 4096, BLOCK=128)
    edited = levels["ttgir"].read_text().replace("arith.mulf", "arith.addf")
    derived = shared_compiler("cuda:90").compile_level("ttgir", edited, json.loads(levels["json"].read_text()),
                                                 with_sass=False)
    ws = Workspace(tmp_path / "ws")
    ws.edit("scaled-x").mkdir(parents=True)
    info = ws.new_version("scaled-x", "scaled", "ttgir", edited, derived)
    with recording() as drv:
        for where in [{"version_dir": info.folder}] * 3 + [{"ttgir_dir": tmp_path / "levels"}] * 2:
            kernel[(32,)](X, Y, 4096, BLOCK=128, **where)
    assert [r[1][11] is None for r in drv.launches] == [False, True, True, False, True]
    binaries = [r[0] for r in drv.launches]
    assert len(set(binaries[:3])) == 1 and len(set(binaries[3:])) == 1 and binaries[0] != binaries[3]


def test_launch_hooks_get_what_tritons_path_gives_them():
    """With a hook in the chain the launcher gets Triton's hook chains and launch metadata
    (what the C launcher calls them with); without one, nothing to call."""
    native, ours = _pair()
    base = (X, Y, 4096, 2.0, True, 3, None)
    seen = []
    shapes = [{"BLOCK": 128}, {"BLOCK": 128, "MODE": 0}]  # a default filled in, or every argument given
    with recording() as drv:
        for i, kw in enumerate(shapes * 2):
            ours[(1,)](*base, **kw)
            assert (drv.launches[-1][1][10:13] == (None, None, None)) == (i >= 2)  # the first: Triton's path
        knobs.runtime.launch_enter_hook.add(seen.append)
        try:
            for kw in shapes:
                native[(1,)](*base, **kw)
                theirs = drv.launches[-1][1]
                ours[(1,)](*base, **kw)
                mine = drv.launches[-1][1]
                assert mine[11] is theirs[11] is knobs.runtime.launch_enter_hook
                assert mine[12] is theirs[12] is knobs.runtime.launch_exit_hook
                assert mine[10].get() == {"name": "body", "function": mine[4], "stream": 0}
                assert theirs[10].get() == {"name": "body", "function": theirs[4], "stream": 0}
        finally:
            knobs.runtime.launch_enter_hook.remove(seen.append)
        for kw in shapes:
            ours[(1,)](*base, **kw)
            assert drv.launches[-1][1][11] is None


def test_pre_run_hooks_changed_globals_and_an_emptied_cache_behave_as_in_triton():
    kernel = workbench.jit(scaled)
    calls = []
    with recording() as drv:
        kernel[(1,)](X, Y, 4096, BLOCK=128)
        first = kernel[(1,)](X, Y, 4096, BLOCK=128)
        kernel.add_pre_run_hook(lambda *a, **k: calls.append(a[2]))
        kernel[(1,)](X, Y, 4096, BLOCK=128)
        kernel[(1,)](X, Y, 17, BLOCK=128)
        assert calls == [4096, 17]
        kernel.pre_run_hooks.clear()
        kernel.device_caches.clear()  # Triton's cache emptied: the next launch compiles again
        again = kernel[(1,)](X, Y, 4096, BLOCK=128)
        assert again is not first and again is kernel[(1,)](X, Y, 4096, BLOCK=128)
        global SCALE
        saved, SCALE = SCALE, tl.constexpr(3.0)
        try:
            with pytest.raises(RuntimeError, match="Global variable SCALE has changed"):
                kernel[(1,)](X, Y, 4096, BLOCK=128)
        finally:
            SCALE = saved
        assert len(drv.launches) == 6


# -- on the GPU --------------------------------------------------------------------------

def _gpu_cases():
    x = torch.rand(4099, device="cuda")
    z = torch.rand(4099, device="cuda")
    return [((x, 4096, 2.0, True, 3, None), {"BLOCK": 128}), ((x[1:], 4095, 2.0, False, 3, z), {"BLOCK": 128}),
            ((x, 1, 2.0, True, 16, z[1:]), {"BLOCK": 64, "MODE": 1}), ((x.half(), 4096, 3, True, 1, None), {"BLOCK": 256}),
            ((x, 4096, 2.0, 1, 5, None), {"BLOCK": 128, "num_warps": 8})]


@pytest.mark.gpu
def test_results_are_identical_to_tritons_launch():
    native, ours = _pair()
    for args, kwargs in _gpu_cases() * 3:
        x, rest = args[0], args[1:]
        a, b = torch.full_like(x, -7.0), torch.full_like(x, -7.0)
        grid = lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]),)  # noqa: E731
        native[grid](x, a, *rest, **kwargs)
        ours[grid](x, b, *rest, **kwargs)
        torch.cuda.synchronize()
        assert torch.equal(a, b)


@pytest.mark.gpu
def test_level_and_version_launches_are_identical_to_tritons_on_the_fast_path(tmp_path):
    from workbench.session.workspace import Workspace
    from workbench.api import shared_compiler
    import json
    kernel = workbench.jit(scaled)
    native = triton.jit(scaled)
    x = torch.rand(4096, device="cuda")
    want = torch.empty_like(x)
    native[(32,)](x, want, 4096, BLOCK=128)
    levels = kernel.save_levels(tmp_path / "levels", x, torch.empty_like(x), 4096, BLOCK=128)
    derived = shared_compiler().compile_level("ttgir", levels["ttgir"].read_text(), json.loads(levels["json"].read_text()),
                                        with_sass=False)
    ws = Workspace(tmp_path / "ws")
    ws.edit("scaled-x").mkdir(parents=True)
    info = ws.new_version("scaled-x", "scaled", "ttgir", levels["ttgir"].read_text(), derived)
    for where in [{}, {"ttgir_dir": tmp_path / "levels"}, {"ptx_dir": str(tmp_path / "levels")},
                  {"version_dir": info.folder}]:
        for _ in range(3):  # the first compiles or loads, the others take the fast path
            out = torch.full_like(x, -1.0)
            kernel[(32,)](x, out, 4096, BLOCK=128, **where)
            torch.cuda.synchronize()
            assert torch.equal(out, want), where


@pytest.mark.gpu
def test_cuda_tensors_reach_the_launcher_as_pointers_and_cpu_ones_are_refused():
    from workbench.runtime.fastlaunch import native
    x, y = torch.rand(64, device="cuda"), torch.rand(64, device="cuda")[1:]
    _, launch = native().fingerprint(bytes(3), {}, (x, y, 5), {})
    assert launch == (x.data_ptr(), y.data_ptr(), 5)
    kernel = workbench.jit(scaled)
    out = torch.empty_like(x)
    for _ in range(2):
        kernel[(1,)](x, out, 64, BLOCK=64)
    with pytest.raises(ValueError, match="cannot be accessed from Triton"):
        kernel[(1,)](x.cpu(), out, 64, BLOCK=64)  # the same specialization: the launcher's check


@pytest.mark.gpu
def test_launch_hooks_fire_on_every_launch():
    kernel = workbench.jit(scaled)
    x = torch.rand(4096, device="cuda")
    out = torch.empty_like(x)
    kernel[(32,)](x, out, 4096, BLOCK=128)
    entered, left = [], []
    enter = lambda md: entered.append(md.get()["name"])  # noqa: E731
    leave = lambda md: left.append(md.get()["stream"])  # noqa: E731
    knobs.runtime.launch_enter_hook.add(enter)
    knobs.runtime.launch_exit_hook.add(leave)
    try:
        for _ in range(3):
            kernel[(32,)](x, out, 4096, BLOCK=128)
    finally:
        knobs.runtime.launch_enter_hook.remove(enter)
        knobs.runtime.launch_exit_hook.remove(leave)
    kernel[(32,)](x, out, 4096, BLOCK=128)
    assert entered == ["scaled"] * 3
    assert left == [torch.cuda.current_stream().cuda_stream] * 3


@pytest.mark.gpu
def test_cuda_graph_capture_and_side_streams():
    """Captured launches run on replay with the captured tensors; launches under
    ``torch.cuda.stream(s)`` go to ``s`` (a capture on a side stream fails otherwise)."""
    kernel = workbench.jit(scaled)
    x = torch.rand(4096, device="cuda")
    out = torch.zeros_like(x)
    kernel[(32,)](x, out, 4096, BLOCK=128)  # compiled and remembered before the capture
    kernel[(32,)](x, out, 4096, BLOCK=128)
    torch.cuda.synchronize()
    out.zero_()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        kernel[(32,)](x, out, 4096, BLOCK=128)
    torch.cuda.synchronize()
    assert not out.any()  # captured, not run
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, x * 2.0)
    side = torch.cuda.Stream()
    seen = []
    hook = lambda md: seen.append(md.get()["stream"])  # noqa: E731
    with torch.cuda.stream(side):
        knobs.runtime.launch_enter_hook.add(hook)
        try:
            kernel[(32,)](x, out, 4096, BLOCK=128)
        finally:
            knobs.runtime.launch_enter_hook.remove(hook)
        kernel[(32,)](x, out, 4096, BLOCK=128)
    side.synchronize()
    assert seen == [side.cuda_stream]


@pytest.mark.gpu
def test_proton_profiles_fast_launches(tmp_path):
    import json
    import triton.profiler as proton
    kernel = workbench.jit(scaled)
    x = torch.rand(4096, device="cuda")
    out = torch.empty_like(x)
    kernel[(32,)](x, out, 4096, BLOCK=128)
    kernel[(32,)](x, out, 4096, BLOCK=128)
    proton.start(str(tmp_path / "profile"), hook="triton")
    for _ in range(5):
        kernel[(32,)](x, out, 4096, BLOCK=128)
    proton.finalize()
    written = sorted(tmp_path.glob("profile*"))  # profile.hatchet
    assert written and "scaled" in json.dumps(json.loads(written[0].read_text()))


def test_the_workbench_capture_still_sees_every_launch():
    """The runner records a script's launches by wrapping ``JITFunction.run``: while it is
    wrapped, every launch goes through it, the fast path's remembered ones too."""
    from workbench.runtime.capture.model import Capture
    from workbench.runtime.capture.hooks import recording as capturing
    kernel = workbench.jit(scaled)
    with recording() as drv:
        kernel[(1,)](X, Y, 4096, BLOCK=128)
        kernel[(1,)](X, Y, 4096, BLOCK=128)  # remembered before the capture
        capture = Capture(script="<test>", mode="gpu", target="cuda:90")
        with capturing(capture, compile_only=False, fake_driver=False):
            for _ in range(3):
                kernel[(1,)](X, Y, 4096, BLOCK=128)
        assert len(capture.launches) == 3
        kernel[(1,)](X, Y, 4096, BLOCK=128)
        assert drv.launches[-1][1][11] is None and len(drv.launches) == 6  # fast again once unwrapped
