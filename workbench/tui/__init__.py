"""The Textual app. Never imports torch or triton (the runner process does the GPU work).

Kept empty on purpose: importing ``workbench.tui`` must cost nothing.
"""
