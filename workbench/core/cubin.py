"""What a cubin says about itself: its SM architecture and its kernels, read from the ELF.

Reading the header and symbol table directly costs microseconds; ``nvdisasm`` takes a
third of a second even for a tiny cubin, too slow to check every save with.
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass

from .errors import WorkbenchError

_STT_FUNC = 2
_SHT_SYMTAB = 2


@dataclass(frozen=True)
class CubinInfo:
    arch: int
    functions: tuple[str, ...]


def read_cubin(data: bytes, file: str = "<cubin>") -> CubinInfo:
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2:
        raise WorkbenchError.at(file, "not a cubin (expected a 64-bit ELF file)")
    abi_version = data[8]
    e_flags = struct.unpack_from("<I", data, 48)[0]
    # CUDA 12.8 introduced a second ELF flag layout (ABI version 8): the SM moved up a byte.
    arch = (e_flags >> 8) & 0xFF if abi_version >= 8 else e_flags & 0xFF
    e_shoff = struct.unpack_from("<Q", data, 40)[0]
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 58)
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        if off + 64 > len(data):
            raise WorkbenchError.at(file, "truncated cubin (section table runs past the end)")
        name, kind, _, _, offset, size, link, _, _, entsize = struct.unpack_from("<IIQQQQIIQQ", data, off)
        sections.append((kind, offset, size, link, entsize))
    functions = []
    for kind, offset, size, link, entsize in sections:
        if kind != _SHT_SYMTAB or not entsize:
            continue
        _, str_off, str_size, _, _ = sections[link]
        strtab = data[str_off:str_off + str_size]
        for j in range(size // entsize):
            st_name, st_info = struct.unpack_from("<IB", data, offset + j * entsize)
            if st_info & 0xF == _STT_FUNC:
                end = strtab.find(b"\0", st_name)
                functions.append(strtab[st_name:end].decode("utf-8", "replace"))
    return CubinInfo(arch, tuple(functions))


def resource_usage(data: bytes, cuobjdump: str) -> dict[str, int]:
    """Registers and local memory per kernel, from ``cuobjdump -res-usage`` (fast)."""
    import os
    import re
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".cubin")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        out = subprocess.run([cuobjdump, "-res-usage", path], capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    res: dict[str, int] = {}
    if m := re.search(r"REG:(\d+)", out):
        res["registers"] = int(m.group(1))
    if m := re.search(r"LOCAL:(\d+)", out):
        res["local"] = int(m.group(1))
    return res
