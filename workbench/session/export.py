"""A version as a folder that runs anywhere with torch and Triton only: a reproducer.

For a bug report to Triton or a colleague, or for shipping a tuned version: the version's
level file (and the levels below it, and Triton's metadata), the captured inputs as the bytes
of each storage the arguments are views of (so arguments that share memory still share it),
the original kernel's outputs, the launch (arguments, grid, options) as JSON, and ``run.py``,
which compiles from the exported level with Triton's own API, launches, checks and times.
``run.py`` is :mod:`workbench.session.export_run`, copied; it never imports the workbench.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from workbench.compiler import compat
from workbench.runtime.capture.snapshot import ALIGN, TensorSlot
from workbench.model.diagnostics import WorkbenchError
from workbench.profile.profile import version_tag
from workbench.runtime.launch import bound_values, prepare
from workbench.model.level_files import SUFFIX

INPUT_MODES = ("captured", "random")
# the options a Python-level launch passes as keywords (the rest follow from the target)
LAUNCH_OPTIONS = ("num_warps", "num_stages", "num_ctas", "maxnreg")


def export(session, kernel: str, version: str, out: str | Path, inputs: str = "captured") -> Path:
    """Write version ``version`` (a number or ``original``) of ``kernel`` into ``out``."""
    if inputs not in INPUT_MODES:
        raise WorkbenchError.at(str(session.script), f"--inputs {inputs}: expected captured or random")
    state = _state(session, kernel)
    spec, snapshot = state.spec, state.snapshot
    if snapshot is None:
        raise WorkbenchError.at(str(session.script), f"no inputs of {spec.kernel} were captured (the snapshot "
                                                     "limit, or a compile-only capture): nothing to export")
    v = session.version(state, str(version))
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise WorkbenchError.at(str(out), "the export folder is not empty: name a new one with --out")
    out.mkdir(parents=True, exist_ok=True)
    import torch
    args = bound_values(spec, snapshot.args, snapshot.kwargs)
    slots = [a for a in args if isinstance(a, TensorSlot)]
    if any(s.wrapper is not None for s in slots):
        raise WorkbenchError.at(spec.file or str(session.script), f"{spec.kernel} takes tensor descriptors: "
                                "exporting them is not supported yet", spec.line)
    grid = prepare(spec, snapshot, check=False).grid
    v.result.write(out, spec.stem)
    if v.level == "python":
        (out / f"{spec.stem}.py").write_text(v.result.levels["python"])
    names = list(spec.fn.arg_names)
    views = {name: {"storage": view.storage, "offset": view.offset, "dtype": str(view.dtype).replace("torch.", ""),
                    "shape": list(view.shape), "strides": list(view.strides)}
             for name, view in snapshot.views.items()}
    launch = {
        "kernel": spec.kernel, "level": v.level, "file": f"{spec.stem}{SUFFIX[v.level]}", "version": v.label,
        "metadata": f"{spec.stem}.json", "target": {"backend": session.compiler.target.backend,
                                                     "arch": session.compiler.target.arch,
                                                     "warp_size": session.compiler.target.warp_size},
        "triton_version": compat.triton.__version__, "arg_names": names,
        "signature": spec.signature, "constexprs": spec.constexprs,
        "args": [_arg(name, a) for name, a in zip(names, args)], "grid": list(grid),
        "launch_options": {k: spec.options[k] for k in LAUNCH_OPTIONS if spec.options.get(k) is not None},
        "compile_options": spec.options, "inputs": inputs, "align": ALIGN, "views": views,
        "storages": [r.before.numel() for r in snapshot.regions],
        "checked": dict(snapshot.checked) if inputs == "captured" else {},
    }
    (out / "launch.json").write_text(json.dumps(launch, indent=2, default=str))
    if inputs == "captured":
        torch.save([r.before.cpu() for r in snapshot.regions], out / "inputs.pt")
        torch.save([r.after.cpu() for r in snapshot.regions], out / "outputs.pt")
    shutil.copyfile(Path(__file__).with_name("export_run.py"), out / "run.py")
    return out


def default_folder(session, kernel: str, version: str) -> Path:
    """``<workspace>/exports/<kernel>-<version>``, or the first ``-2``, ``-3`` ... not taken: an
    export never writes over an earlier one."""
    state = _state(session, kernel)
    base = session.workspace.root / "exports" / f"{state.spec.stem}-{version_tag(version)}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _state(session, kernel: str):
    for state in session.kernels.values():
        if kernel in (state.spec.kernel, state.spec.spec_id, state.spec.folder_name):
            return state
    known = ", ".join(sorted({s.spec.kernel for s in session.kernels.values()})) or "none"
    raise WorkbenchError.at(str(session.script), f"no kernel {kernel!r} was launched (launched: {known})")


def _arg(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, TensorSlot):
        return {"name": name, "tensor": value.name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"name": name, "value": value}
    rebuild = _rebuild(value)
    if rebuild is not None:
        return {"name": name, "value": str(value), "rebuild": rebuild}
    return {"name": name, "value": str(value), "repr": True}


_PLAIN = (bool, int, float, str, type(None))


def _rebuild(value: Any) -> dict[str, Any] | None:
    """A constexpr JSON has no word for, as run.py builds it again: a Gluon layout (a dataclass of
    Gluon's language, its fields plain values or layouts), a Triton dtype (either one wrapped in a
    ``tl.constexpr`` too); None for anything else."""
    if type(value).__name__ == "constexpr" and type(value).__module__ == "triton.language.core":
        value = value.value
    cls = type(value)
    if cls.__module__.startswith("triton.experimental.gluon.language") and dataclasses.is_dataclass(value):
        fields = {}
        for f in dataclasses.fields(value):
            if f.init:
                field = _rebuild_field(getattr(value, f.name))
                if field is _NONE:
                    return None
                fields[f.name] = field
        return {"gluon": cls.__name__, "fields": fields}
    if cls.__module__ == "triton.language.core" and cls.__name__ == "dtype":
        return {"dtype": value.name}
    return None


_NONE = object()


def _rebuild_field(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        items = [_rebuild_field(v) for v in value]
        return _NONE if any(v is _NONE for v in items) else items
    return _rebuild(value) or _NONE
