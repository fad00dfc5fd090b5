"""The ``workbench`` command.

``workbench compile SCRIPT``      capture a script's launches, write every level of each kernel
``workbench compile LEVEL_FILE``  compile a .ttir/.ttgir/.llir/.ptx/.cubin to the levels below

Each command is a module of this package: its ``add`` registers its parser, whose ``func`` runs it.
Errors in the user's input print as ``FILE:LINE:COL: error: ...`` and exit with status 2;
a traceback means a bug of ours.
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import signal
import sys

from workbench.cli import app, compare, compile, dump, export, passes, profile, run, sanitize  # (compile: the module)
from workbench.cli.common import ELSEWHERE, EXIT_OK, EXIT_USAGE_OR_INPUT, RunnerFailed, Stopped


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="A terminal workbench for Triton kernels.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in (compile, run, dump, export, passes, profile, sanitize, compare):
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a name no encoding can print (a lone surrogate) prints escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # names this command in the workspace lock its runner takes ("in use by `workbench app x.py`")
    os.environ["WORKBENCH_COMMAND"] = shlex.join(["workbench", *argv])
    if app.wanted(argv):  # `workbench`, `workbench SCRIPT.py`, `workbench app [SCRIPT]`: the app
        # no garbage collection until the first frame (the app turns it on then): the imports and
        # the first frame make ~300k objects that all live on, and scanning them on the way cost
        # ~50 ms of a ~300 ms start (CPU time, 2-core EPYC)
        gc.disable()
        return app.run(argv, main)
    script_args: list[str] = []
    if "--" in argv:  # everything after -- belongs to the user's script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    args.script_args = script_args
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    return _guarded(args.func, args)


def _stop(signum, frame) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second one must not interrupt the cleanup
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


def _guarded(fn, args) -> int:
    from workbench.model.diagnostics import WorkbenchError, os_error
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        return fn(args)
    except WorkbenchError as e:
        for d in e.diagnostics:
            print(str(d), file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    except RunnerFailed as e:
        for line in e.lines:
            print(line, file=sys.stderr)
        return e.status
    except OSError as e:  # a file the system refused (read-only, full, a folder): its path and what to do
        print(str(os_error(e, elsewhere=ELSEWHERE.get(args.command, ""))), file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    except Stopped as e:
        stuck = f" in code that cannot be interrupted ({e.stuck_at})" if e.stuck_at else ""
        print(f"workbench: stopped by {signal.Signals(e.args[0]).name}{stuck}", file=sys.stderr)
        return 128 + e.args[0]
    except KeyboardInterrupt:
        return 130
