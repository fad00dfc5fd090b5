"""`workbench dump` honours the program a kernel's own ``dump(x, 0, 3)`` names, when no --pid
is given (it said "never reached by program 0,0,0")."""

from __future__ import annotations

import json

import numpy as np

from helpers import ROOT, needs_interpreter, run_cli

SCRIPT = ROOT / "tests" / "data" / "dump_pid" / "dump_program_3.py"


@needs_interpreter
def test_dump_shows_the_program_the_kernels_own_dump_names():
    proc = run_cli("dump", str(SCRIPT), "--level", "python", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    (result,) = report["results"]
    assert result["programs"] == [[3, 0, 0]]
    assert np.array_equal(np.array(result["values"]).reshape(-1), np.arange(192, 256) + 1.0)
    assert report["notes"] == []


@needs_interpreter
def test_an_explicit_pid_the_dump_does_not_record_says_so():
    proc = run_cli("dump", str(SCRIPT), "--level", "python", "--pid", "1,0,0", "--json")
    assert json.loads(proc.stdout)["notes"] == ["dump(y) at line 14 was never reached by program 1,0,0"]
