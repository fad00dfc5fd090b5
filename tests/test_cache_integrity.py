"""The stage cache never serves bytes it did not verify; a bad entry is dropped and rebuilt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, run_cli
from workbench.core.cache import Entry, StageCache, digest
from workbench.core.pipeline import Compiler


def _entry_holding(root, content: str | bytes):
    """The (.out, .json) pair of the cache entry whose output is ``content``."""
    data = content.encode() if isinstance(content, str) else content
    found = [p for p in root.rglob("*.out") if p.is_file() and p.read_bytes() == data]
    assert len(found) == 1, found
    return found[0], found[0].with_suffix(".json")


# -- each kind of damage, on the cache itself ----------------------------------------------

def _replace_text(out, meta):
    out.write_bytes(out.read_bytes().replace(b"add.f32", b"sub.f32"))


def _flip_bytes(out, meta):
    data = bytearray(out.read_bytes())
    data[len(data) // 2:len(data) // 2 + 8] = b"\xff" * 8
    out.write_bytes(bytes(data))


def _empty(out, meta):
    out.write_bytes(b"")


def _truncate_sidecar(out, meta):
    meta.write_bytes(meta.read_bytes()[:10])


def _garbage_sidecar(out, meta):
    meta.write_bytes(b"\x00\x01garbage{")


def _sidecar_of_wrong_shape(out, meta):
    meta.write_text(json.dumps(["not", "an", "entry"]))


def _not_utf8_with_a_matching_digest(out, meta):
    # the digest is recomputed over the bad bytes, so only the text check can catch it
    import hashlib
    data = b"\xe9\xff" + out.read_bytes()
    out.write_bytes(data)
    sidecar = json.loads(meta.read_text())
    sidecar["sha256"] = hashlib.sha256(data).hexdigest()
    meta.write_text(json.dumps(sidecar))


def _out_is_a_directory(out, meta):
    out.unlink()
    out.mkdir()
    (out / "x").write_text("x")


DAMAGE = [_replace_text, _flip_bytes, _empty, _truncate_sidecar, _garbage_sidecar, _sidecar_of_wrong_shape,
          _not_utf8_with_a_matching_digest, _out_is_a_directory]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_entry_is_dropped_said_once_and_rebuilt(tmp_path, damage):
    text = "\tadd.f32 \t%r17, %r1, %r9;\n" * 50
    key = digest("some stage input")
    StageCache(tmp_path).put(key, Entry(text, {"name": "k"}, {"ms": 1.0}))
    out, meta = _entry_holding(tmp_path, text)
    damage(out, meta)

    notes: list[str] = []
    cache = StageCache(tmp_path, on_bad=notes.append)
    assert cache.get(key) is None
    assert len(notes) == 1 and "dropped" in notes[0], notes
    assert not out.exists() and not meta.exists()  # dropped, not left to fail again
    cache.put(key, Entry(text, {"name": "k"}, {"ms": 1.0}))  # what the compiler does next
    again = StageCache(tmp_path, on_bad=notes.append).get(key)
    assert again is not None and again.output == text and again.metadata == {"name": "k"}
    assert len(notes) == 1  # said once


def test_a_missing_entry_is_a_plain_miss(tmp_path):
    notes: list[str] = []
    assert StageCache(tmp_path, on_bad=notes.append).get(digest("never written")) is None
    assert notes == []


def test_an_entry_killed_mid_write_is_never_served_bad(tmp_path):
    """A writer killed with SIGKILL at any moment leaves either a good entry or none."""
    writer = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from workbench.core.cache import Entry, StageCache
        cache = StageCache({str(tmp_path)!r})
        print("ready", flush=True)
        i = 0
        while True:
            which = "AB"[i % 2]
            cache.put("ab" * 32, Entry(which * (200000 + i % 2), {{"which": which}}, {{"ms": 0}}))
            i += 1
        ''')
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        notes: list[str] = []
        entry = StageCache(tmp_path, on_bad=notes.append).get("ab" * 32)
        if entry is not None:
            which = entry.metadata["which"]
            assert entry.output == which * (200000 + "AB".index(which))
    # the window between the two renames, made on purpose: B's output under A's description
    cache = StageCache(tmp_path)
    cache.put("cd" * 32, Entry("A" * 10, {"which": "A"}, {"ms": 0}))
    a_meta = (tmp_path / "cd" / ("cd" * 32 + ".json")).read_bytes()
    cache.put("cd" * 32, Entry("B" * 10, {"which": "B"}, {"ms": 0}))
    (tmp_path / "cd" / ("cd" * 32 + ".json")).write_bytes(a_meta)
    assert StageCache(tmp_path, on_bad=lambda note: None).get("cd" * 32) is None


# -- through the compiler and the CLI: what the issue saw ----------------------------------

@pytest.fixture
def level_files(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    return full, full.write(tmp_path / "levels", spec.kernel)


def test_a_corrupted_cubin_entry_is_recompiled(level_files, tmp_path, capsys):
    full, paths = level_files
    root = tmp_path / "cache"
    first = Compiler("cuda:90", StageCache(root)).compile_file(paths["ptx"], full.metadata_json(), with_sass=False)
    out, _ = _entry_holding(root, first.levels["cubin"])
    _flip_bytes(out, None)
    again = Compiler("cuda:90", StageCache(root)).compile_file(paths["ptx"], full.metadata_json(), with_sass=False)
    assert again.levels["cubin"] == full.levels["cubin"]
    assert not again.fully_cached
    assert capsys.readouterr().err.count("dropped") == 1
    third = Compiler("cuda:90", StageCache(root)).compile_file(paths["ptx"], full.metadata_json(), with_sass=False)
    assert third.fully_cached and third.levels["cubin"] == full.levels["cubin"]
    assert "dropped" not in capsys.readouterr().err


def test_the_cli_never_writes_a_corrupted_ptx_entry(level_files, tmp_path):
    full, paths = level_files
    env = {"WORKBENCH_CACHE_DIR": str(tmp_path / "cache")}
    out_dir = tmp_path / "out"
    assert run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env).returncode == 0
    out, _ = _entry_holding(tmp_path / "cache", full.levels["ptx"])
    _replace_text(out, None)
    proc = run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (out_dir / "add_kernel.ptx").read_text() == full.levels["ptx"]
    assert "sub.f32" not in (out_dir / "add_kernel.ptx").read_text()
    assert proc.stderr.count("dropped") == 1, proc.stderr
    assert run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env).stderr == ""


def test_an_emptied_llir_entry_is_rebuilt_not_an_assertion(level_files, tmp_path):
    full, paths = level_files
    root = tmp_path / "cache"
    Compiler("cuda:90", StageCache(root)).compile_file(paths["ttgir"], full.metadata_json(), with_sass=False)
    out, _ = _entry_holding(root, full.levels["llir"])
    _empty(out, None)
    for _ in range(2):  # and it stays fixed
        result = Compiler("cuda:90", StageCache(root, on_bad=lambda note: None)).compile_file(
            paths["ttgir"], full.metadata_json(), with_sass=False)
        assert result.levels["llir"] == full.levels["llir"] and result.levels["cubin"] == full.levels["cubin"]
