"""The stage cache never serves bytes it did not verify; a bad entry is dropped and rebuilt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import ROOT, run_cli
from workbench.compiler.cache import Entry, StageCache, digest
from workbench.compiler.stages import Compiler


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
    from workbench.compiler.cache import _entry_digest
    data = b"\xe9\xff" + out.read_bytes()
    out.write_bytes(data)
    sidecar = json.loads(meta.read_text())
    sidecar["sha256"] = _entry_digest(data, sidecar)
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
        from workbench.compiler.cache import Entry, StageCache
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


# -- the description is part of the entry: what it says is checked as the output is -------

def _description_of(root, key: str):
    return next(root.rglob(f"{key}.json"))


def test_every_one_digit_change_to_a_description_is_caught(tmp_path):
    """What the table and the written <kernel>.json show comes from the description: a digit
    changed anywhere in it (resources, metadata, times) is a bad entry, never a served value."""
    key = digest("a cubin stage")
    meta = {"num_warps": 4, "shared": 0, "tmem_size": 0}
    info = {"ms": 61.65, "log": "ptxas info    : Used 26 registers",
            "resources": {"registers": 26, "spill_stores": 0, "spill_loads": 0, "stack": 0}}
    StageCache(tmp_path).put(key, Entry(b"\x7fELF cubin bytes", meta, info))
    description = _description_of(tmp_path, key)
    good = description.read_bytes()
    digits = [i for i, c in enumerate(good) if chr(c).isdigit()]
    assert len(digits) > 40   # the sha256 and every number
    for i in digits:
        damaged = bytearray(good)
        damaged[i] = ord("1") if damaged[i] != ord("1") else ord("2")
        description.write_bytes(bytes(damaged))
        notes: list[str] = []
        assert StageCache(tmp_path, on_bad=notes.append).get(key) is None, good[max(0, i - 30):i + 10]
        assert len(notes) == 1 and "dropped" in notes[0]
        assert not description.exists()
        StageCache(tmp_path).put(key, Entry(b"\x7fELF cubin bytes", meta, info))
    served = StageCache(tmp_path).get(key)
    assert (served.output, served.metadata, served.info) == (b"\x7fELF cubin bytes", meta, info)


def _set_resources(description):
    sidecar = json.loads(description.read_text())
    sidecar["info"]["resources"].update(registers=255, spill_stores=4)
    description.write_text(json.dumps(sidecar))


def _set_shared(description):
    sidecar = json.loads(description.read_text())
    sidecar["metadata"]["shared"] = 99999
    description.write_text(json.dumps(sidecar))


def _one_digit(description):
    text = description.read_text()
    at = text.index('"registers": ') + len('"registers": ')
    description.write_text(text[:at] + "9" + text[at + 1:])


@pytest.mark.parametrize("damage", [_set_resources, _set_shared, _one_digit], ids=lambda f: f.__name__.strip("_"))
def test_an_edited_description_is_rebuilt_through_the_cli(level_files, tmp_path, damage):
    """What issue 26 saw: `registers 255, shared 99999` written into the cache were shown in
    the table and written into <kernel>.json."""
    full, paths = level_files
    env = {"WORKBENCH_CACHE_DIR": str(tmp_path / "cache")}
    out_dir = tmp_path / "out"
    first = run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env)
    assert first.returncode == 0, first.stderr
    table = first.stdout.splitlines()[1:3]
    written = json.loads((out_dir / "add_kernel.json").read_text())
    assert written["shared"] != 99999 and "255" not in table[1]
    holder = "resources" if damage is not _set_shared else '"shared"'
    (description,) = [p for p in (tmp_path / "cache").rglob("*.json") if holder in p.read_text()]
    damage(description)
    again = run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("dropped") == 1, again.stderr
    assert again.stdout.splitlines()[1] == table[0]
    assert again.stdout.splitlines()[2].split()[:6] == table[1].split()[:6]   # kernel .. spills, as compiled
    assert json.loads((out_dir / "add_kernel.json").read_text())["shared"] == written["shared"]
    # the entry was rebuilt: its description holds the real values, and the next compile hits it
    rebuilt = json.loads(description.read_text())
    assert '"shared": 99999' not in description.read_text() and '"registers": 255' not in description.read_text()
    assert rebuilt["metadata"].get("shared", written["shared"]) == written["shared"]
    third = run_cli("compile", str(paths["ttgir"]), "--no-sass", "--out", str(out_dir), env=env)
    assert third.stderr == "" and third.stdout.splitlines()[2].split()[:6] == table[1].split()[:6]
