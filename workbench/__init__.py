"""triton-workbench: every compilation level of a Triton kernel, side by side.

Importing the package is cheap and pulls in neither torch nor triton: the app process
imports it too. The compile engine lives in ``workbench.core``.
"""

__version__ = "0.1.0"
