"""What a cubin says about itself: its SM architecture and its kernels, read from the ELF.

Reading the header and symbol table directly costs microseconds; ``nvdisasm`` takes a
third of a second even for a tiny cubin, too slow to check every save with.
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass

from workbench.model.diagnostics import WorkbenchError

_STT_FUNC = 2
_SHT_SYMTAB = 2


@dataclass(frozen=True)
class CubinInfo:
    arch: int
    functions: tuple[str, ...]
    reqntid: dict[str, tuple[int, ...]] = None  # kernel -> the block size it was compiled for

    def threads(self, kernel: str) -> int | None:
        dims = (self.reqntid or {}).get(kernel)
        if not dims:
            return None
        n = 1
        for d in dims:
            n *= d
        return n


_EIATTR_REQNTID = 0x10
_EIFMT_NVAL, _EIFMT_BVAL, _EIFMT_HVAL, _EIFMT_SVAL = 1, 2, 3, 4


def _nv_info_reqntid(blob: bytes) -> tuple[int, ...] | None:
    """The REQNTID attribute of a ``.nv.info.<kernel>`` section (records: format, attribute, value)."""
    i = 0
    while i + 2 <= len(blob):
        fmt, attr = blob[i], blob[i + 1]
        if fmt == _EIFMT_SVAL:
            size = struct.unpack_from("<H", blob, i + 2)[0]
            if attr == _EIATTR_REQNTID and size % 4 == 0:
                return struct.unpack_from(f"<{size // 4}I", blob, i + 4)
            i += 4 + size
        elif fmt == _EIFMT_HVAL:
            i += 4
        elif fmt == _EIFMT_BVAL:
            i += 3
        elif fmt == _EIFMT_NVAL:
            i += 2
        else:
            return None
    return None


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
        sections.append((kind, offset, size, link, entsize, name))
    shstr = sections[struct.unpack_from("<H", data, 62)[0]] if e_shnum else None

    def section_name(sec) -> str:
        if shstr is None:
            return ""
        start = shstr[1] + sec[5]
        return data[start:data.find(b"\0", start)].decode("utf-8", "replace")
    reqntid = {}
    for sec in sections:
        name = section_name(sec)
        if name.startswith(".nv.info."):
            dims = _nv_info_reqntid(data[sec[1]:sec[1] + sec[2]])
            if dims:
                reqntid[name[len(".nv.info."):]] = dims
    functions = []
    for kind, offset, size, link, entsize, _ in sections:
        if kind != _SHT_SYMTAB or not entsize:
            continue
        _, str_off, str_size, _, _, _ = sections[link]
        strtab = data[str_off:str_off + str_size]
        for j in range(size // entsize):
            st_name, st_info = struct.unpack_from("<IB", data, offset + j * entsize)
            if st_info & 0xF == _STT_FUNC:
                end = strtab.find(b"\0", st_name)
                functions.append(strtab[st_name:end].decode("utf-8", "replace"))
    return CubinInfo(arch, tuple(functions), reqntid)


def resource_usage(data: bytes, cuobjdump: str) -> dict[str, int]:
    """Registers and local memory per kernel, from ``cuobjdump -res-usage`` (fast)."""
    import re
    from workbench.compiler import scratch
    with scratch.folder() as folder:
        path = folder / "kernel.cubin"
        path.write_bytes(data)
        out = subprocess.run([cuobjdump, "-res-usage", str(path)], capture_output=True, text=True).stdout
    res: dict[str, int] = {}
    if m := re.search(r"REG:(\d+)", out):
        res["registers"] = int(m.group(1))
    if m := re.search(r"LOCAL:(\d+)", out):
        res["local"] = int(m.group(1))
    return res
