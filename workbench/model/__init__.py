"""Pure data every layer shares: no torch, triton or textual, and nothing else of ours (a test
reads its imports). ``levels``: the compilation levels and the app's panes per target family; ``diagnostics``: errors
a user can cause; ``srcmap``: which Python line each line of a level came from; ``expr``: grid
and FLOP expressions, parsed."""
