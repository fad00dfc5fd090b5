"""A script that never gets to its launches: it writes its pid (the runner's, when run there)
to $WB_PIDFILE, then waits forever in Python code."""
import os
import time

if os.environ.get("WB_PIDFILE"):
    with open(os.environ["WB_PIDFILE"], "w") as f:
        f.write(str(os.getpid()))
while True: time.sleep(0.05)  # line 9: where a time limit finds it
