"""A sweep's compiles, run ahead in worker processes.

A sweep tries its configs one at a time on the GPU (timings must not overlap), but each config's
compile is independent of the others: ptxas and the MLIR passes of one config need not wait for
another's. The runner does the front end of every config first (Python -> TTIR: it needs the
script's own JITFunction, which only this process has, and it takes ~5% of a compile), then hands
each TTIR to a pool of worker processes, which compile TTIR -> cubin into the shared on-disk stage
cache. When the sweep reaches a config, its compile is a row of cache hits: the keys are the
same because each stage is keyed by the exact text it compiles (:mod:`.cache`).

A worker is ``python -m workbench.runtime.prefetch TARGET``: one JSON line in per compile, one out
when it is done. Not multiprocessing: its spawn runs the parent's ``__main__`` again in every
worker (a user's script without a main guard would run there), and its fork would copy a
process that holds a CUDA context and threads. A worker imports Triton only, never torch, and
touches no GPU; it ends at the end of its input, so it goes with the runner even when the runner
is killed with kill -9 (the pipe closes).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

MAX_WORKERS = 8


def workers_for(cpus: int | None = None) -> int:
    """One core is the runner's (it replays and times while the workers compile)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus - 1))


class CompilePool:
    """Worker processes compiling TTIR for one target, started on first use."""

    def __init__(self, target: str, workers: int | None = None) -> None:
        self.target = target
        self.workers = workers or workers_for()
        self._jobs: queue.Queue = queue.Queue()
        self._procs: list[subprocess.Popen] = []

    def submit(self, ttir: str, metadata: dict[str, Any]) -> Future:
        if not self._procs:
            self._start()
        done: Future = Future()
        self._jobs.put((json.dumps({"ttir": ttir, "metadata": metadata}), done))
        return done

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        for _ in range(self.workers):
            proc = subprocess.Popen([sys.executable, "-m", "workbench.runtime.prefetch", self.target], env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True, encoding="utf-8")
            self._procs.append(proc)
            threading.Thread(target=self._feed, args=(proc,), daemon=True, name="compile-feed").start()

    def _feed(self, proc: subprocess.Popen) -> None:
        """One job at a time to one worker, so a free worker takes the next config."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            line, done = job
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                answer = proc.stdout.readline()
                done.set_result(json.loads(answer) if answer else {"error": "the worker ended"})
            except (OSError, ValueError) as e:  # a worker gone: the runner compiles that config itself
                done.set_result({"error": str(e)})
                return

    def close(self) -> None:
        for _ in self._procs:
            self._jobs.put(None)
        for proc in self._procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        self._procs = []


def main(argv: list[str]) -> int:
    """The worker: a compile per line of input until its end."""
    from workbench.compiler.cache import StageCache, default_dir
    from workbench.model.diagnostics import WorkbenchError
    from workbench.compiler.stages import Compiler
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)   # what a compile prints (an MLIR dump, a tool's output) is not an answer
    compiler = Compiler(argv[0], StageCache(default_dir()))
    for line in sys.stdin:
        job = json.loads(line)
        try:
            result = compiler.compile_level("ttir", job["ttir"], job["metadata"], with_sass=False)
            answer = {"ms": sum(t.ms for t in result.stages if not t.cached)}
        except WorkbenchError as e:  # the runner's to report, when it compiles the config itself
            answer = {"error": str(e)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
