"""Grid and FLOP expressions (issue 26, points 3 and 17): parsed with ``ast`` and walked, never
``eval``'d, so a workspace received from someone else (its ``tried.json``) or a flag runs no code;
and a grid sees plain numbers, also in the interpreter. On the CPU through the interpreter."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
import torch

from helpers import EXAMPLES, run_cli
from workbench.model.diagnostics import WorkbenchError
from workbench.model.expr import evaluate, parse
from workbench.session.session import Session


def _exploit(target) -> str:
    """What issue 26 saw create a file: the builtins reached through the helper ``cdiv``."""
    return f"cdiv.__globals__['__builtins__']['open']({str(target)!r}, 'w').write('x')"


def _flops_exploit(target) -> str:
    """The FLOP expression had no ``cdiv``, but a tensor's Python methods have globals too."""
    return f"x_ptr.__deepcopy__.__globals__['__builtins__']['open']({str(target)!r}, 'w').write('x')"


def test_the_documented_forms_evaluate_to_their_numbers():
    a, b = torch.empty(256, 512), torch.empty(512, 128)
    q = SimpleNamespace(shape=(4, 8, 128, 64))   # what profile gives a tensor of an exported launch
    names = {"M": 256, "N": 128, "K": 512, "BLOCK_M": 64, "BLOCK_N": 64, "a": a, "b": b, "a_ptr": a, "q": q,
             "n_elements": 98432, "BLOCK_SIZE": 512, "alpha": 0.5}
    cases = {
        "2*M*N*K": 2 * 256 * 128 * 512,                                   # README: --flops
        "cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)": 4 * 2,                     # README: --grid
        "cdiv(n_elements, BLOCK_SIZE)": 193,                              # issue 26: 98432/512 rounded up
        "2*a_ptr.shape[0]*N*K": 2 * 256 * 128 * 512,                      # tests of profile --flops
        "2*a.shape[0]*a.shape[1]*b.shape[1]": 2 * 256 * 512 * 128,
        "4*q.shape[0]*q.shape[2]**2": 4 * 4 * 128 ** 2,                   # eval_flops' docstring
        "a.shape[-1] + q.shape[-2]": 512 + 128,
        "(cdiv(M, BLOCK_M), cdiv(N, BLOCK_N))": (4, 2),
        "[cdiv(M, BLOCK_M), 1, 1]": (4, 1, 1),
        "(M,)": (256,),
        "min(M, N) + max(M, N, K)": 128 + 512,
        "-M // 3 + M % 7 - +N": -86 + 4 - 128,
        "M / 512 + 1.5e1 * alpha": 0.5 + 7.5,
        "2 ** 10 + 2 ** -1": 1024.5,
        "((M))": 256,
    }
    got = {text: evaluate(parse(text, "--flops"), names) for text in cases}
    assert got == cases
    assert type(got["cdiv(n_elements, BLOCK_SIZE)"]) is int


@pytest.mark.parametrize("text, said", [
    ("cdiv.__globals__", "attribute access (.__globals__) is not allowed"),
    ("M.real", "attribute access (.real) is not allowed"),
    ("(1, 2)[0]", "indexing other than NAME.shape[i] is not allowed"),
    ("a.shape[0:1]", "indexing other than NAME.shape[i] is not allowed"),
    ("__import__('os')", "a call to __import__ is not allowed"),
    ("open('x', 'w')", "a call to open is not allowed"),
    ("cdiv(M, b=2)", "a keyword argument is not allowed"),
    ("cdiv(*a.shape)", "a starred argument is not allowed"),
    ("(lambda: 1)()", "a lambda is not allowed"),
    ("M.shape(1)", "a call to M.shape is not allowed"),
    ("lambda: 1", "a lambda is not allowed"),
    ("[i for i in (1, 2)]", "a comprehension is not allowed"),
    ("'ab' * 3", "a string is not allowed"),
    ("M if N else K", "a conditional expression is not allowed"),
    ("M < N", "a comparison is not allowed"),
    ("M and N", "and/or is not allowed"),
    ("M.shape[0].__class__", "attribute access (.__class__) is not allowed"),
    ("True + 1", "True is not allowed"),
    ("M; N", "not an expression"),
    ("", "not an expression"),
    ("9 ** 9 ** 9", "is past 2**1024"),
    ("2 ** 1025", "is past 2**1024"),
    ("(2 ** 1000) * (2 ** 1000)", "is past 2**1024"),
    ("(1,) * 100000000", "arithmetic on a tuple is not allowed"),
    ("1 / 0", "division by zero"),
    ("(-8) ** 0.5", "is not a real number"),
    ("10.0 ** 400", "too large"),
    ("a + 1", "a is a tensor: use a.shape[i]"),
    ("a.shape[2]", "a.shape has 2 dimensions"),
    ("M.shape[0]", "M has no shape"),
    ("Q * 2", "unknown name 'Q'"),
    ("-" * 2000 + "1", "longer than 1000 characters"),
])
def test_anything_but_arithmetic_is_refused_in_one_line_before_it_runs(text, said):
    names = {"M": 256, "N": 128, "K": 512, "a": torch.empty(4, 8)}
    with pytest.raises(WorkbenchError) as e:
        evaluate(parse(text, "--flops"), names)
    line = str(e.value)
    assert line.startswith("--flops: error: cannot evaluate ") and said in line, line
    assert "\n" not in line and "Traceback" not in line


def test_a_refusal_names_the_file_it_came_from():
    with pytest.raises(WorkbenchError) as e:
        parse("cdiv.__globals__", "/ws/k/tried.json")
    assert str(e.value).startswith("/ws/k/tried.json: error: cannot evaluate 'cdiv.__globals__': attribute access")
    with pytest.raises(WorkbenchError, match="tried.json: error: expected an expression as text, got 7"):
        parse(7, "tried.json")


def _opened_folder(tmp_path) -> str:
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    session = Session(tmp_path / "vector_add.py", workspace=tmp_path / "ws", with_sass=False)
    try:
        return session.open()["kernels"][0]["spec"]["folder_name"]
    finally:
        session.close()


def test_a_tried_json_grid_that_reaches_for_the_builtins_creates_no_file(tmp_path):
    """Issue 26 point 17: a workspace from someone else, whose tried.json holds the exploit,
    opened in the app (a session) and by ``workbench run``: no file, and a note says why."""
    folder = _opened_folder(tmp_path)
    tried = tmp_path / "ws" / folder / "tried.json"
    pwned = tmp_path / "pwned"
    tried.write_text(json.dumps([{"config": {"BLOCK_SIZE": 256, "num_warps": 2}, "grid": _exploit(pwned)}]))

    session = Session(tmp_path / "vector_add.py", workspace=tmp_path / "ws", with_sass=False)
    data = session.open()
    session.close()
    assert not pwned.exists()
    assert len(data["kernels"]) == 1   # the config is not listed again
    (note,) = [n for n in data["notes"] if "tried.json" in n]
    assert f"{tried}: error: cannot evaluate {_exploit(pwned)!r}: attribute access (.__globals__) is not allowed" \
        in note and "\n" not in note, note

    proc = run_cli("run", str(tmp_path / "vector_add.py"), "--workspace", str(tmp_path / "ws"))
    assert not pwned.exists()
    assert proc.returncode == 0, proc.stderr
    assert "attribute access (.__globals__) is not allowed" in proc.stdout + proc.stderr


@pytest.mark.parametrize("flag, exploit, attr", [("--grid", _exploit, "__globals__"),
                                                 ("--flops", _flops_exploit, "__deepcopy__")])
def test_the_same_through_grid_and_flops(tmp_path, flag, exploit, attr):
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    pwned = tmp_path / "pwned"
    extra = ["--config", "BLOCK_SIZE=512"] if flag == "--grid" else ["--bench"]
    proc = run_cli("run", str(tmp_path / "vector_add.py"), *extra, flag, exploit(pwned))
    assert not pwned.exists()
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("running ")]
    assert lines == [f"{flag}: error: cannot evaluate {exploit(pwned)!r}: attribute access (.{attr}) is not "
                     "allowed (only arithmetic over numbers, the kernel's arguments and meta-parameters, "
                     "NAME.shape[i], cdiv, min and max)"], proc.stderr


def test_the_readme_grid_verifies_a_correct_config_in_the_interpreter(tmp_path):
    """Issue 26 point 3: in the interpreter the grid got n_elements as a one-element tensor whose
    ``//`` truncates: cdiv(98432, 512) was 192 and 128 elements were never written."""
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    proc = run_cli("run", str(tmp_path / "vector_add.py"), "--json", "--config", "BLOCK_SIZE=512",
                   "--grid", "cdiv(n_elements, BLOCK_SIZE)")
    assert proc.returncode == 0, proc.stderr
    (table,) = json.loads(proc.stdout)["configs"]
    (tried,) = [r for r in table["rows"] if r["tried"]]
    assert tried["config"].startswith("BLOCK_SIZE=512") and tried["status"] == "ok", tried
