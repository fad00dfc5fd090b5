"""Capture: run a user's unmodified script and record every Triton kernel launch.

``script`` runs the script (``run_script``); ``hooks`` sees each launch at Triton's launcher
(``recording``); ``model`` is what is recorded (``Capture``, ``KernelSpec``, ``Launch``,
``Tuning``); ``snapshot`` keeps a launch's tensors per storage to replay them; ``arguments``
binds and describes a launch's arguments; ``interpret`` runs launches in Triton's interpreter.
"""



