"""Pure data every layer shares: no torch, triton or textual, and nothing else of ours (a test
reads its imports). ``levels``: the compilation levels and the app's panes per target family."""
