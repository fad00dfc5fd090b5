"""Token types the workbench's lexers emit beyond pygments' standard ones.

Each is a subtype of a standard token, so any pygments style still colours it sensibly
(a register falls back to ``Name.Variable``), while a workbench theme can give it its own colour.
"""

from __future__ import annotations

from pygments.token import Comment, Name

#: an SSA value or virtual register: ``%x_3``, ``%12``, ``%rd4``
SSA = Name.Variable
#: a machine register in SASS: ``R12``, ``UR4``, ``RZ``, ``SR_TID.X``
Register = Name.Variable.Register
#: a predicate: ``@!P0`` guards and ``P0``/``PT`` operands in SASS
Predicate = Name.Variable.Predicate
#: an MLIR attribute alias: ``#blocked``, ``#loc3``, ``#ttg.blocked<...>`` prefixes
AttrAlias = Name.Decorator
#: an op or opcode: ``arith.addf``, ``tt.load``, ``LDG.E.128``
Op = Name.Builtin
#: source locations: ``loc(...)`` in MLIR, ``//## File ...`` line info in SASS
Location = Comment.Location
#: the ``/*0040*/`` instruction offset in SASS
Address = Comment.Address
