"""A script stuck in C code that holds the GIL and lets no signal in (a libc sleep called
through ctypes.PyDLL, SIGALRM blocked): no Python signal handler or thread of the runner runs."""
import ctypes
import os
import signal

if os.environ.get("WB_PIDFILE"):
    with open(os.environ["WB_PIDFILE"], "w") as f:
        f.write(str(os.getpid()))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
ctypes.PyDLL(None).sleep(3600)  # line 11
