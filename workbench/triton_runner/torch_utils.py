"""``triton_runner.torch_utils``: the helpers their scripts size dump buffers and pick a device with."""

from __future__ import annotations

import math


def get_active_torch_device():
    """The driver's torch device (the CPU under a compile-only stand-in); ``cuda`` where torch
    has it and Triton has no driver to ask, else the CPU."""
    import torch
    from triton.runtime.driver import driver
    try:
        return driver.active.get_active_torch_device()
    except RuntimeError:   # no driver
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pad_2d_to_block_shape(tensor, block_shape):
    """``tensor`` (2-D) padded with zeros to whole blocks, as float32."""
    import torch
    rows, cols = tensor.shape
    block_rows, block_cols = block_shape
    pad_rows, pad_cols = (block_rows - rows % block_rows) % block_rows, (block_cols - cols % block_cols) % block_cols
    return torch.nn.functional.pad(tensor, (0, pad_cols, 0, pad_rows), value=0).to(torch.float32)


def get_pad_n_elements(tensor, block_shape) -> int:
    """Elements of ``tensor`` padded to whole blocks."""
    return math.prod(-(-dim // block) * block for dim, block in zip(tensor.shape, block_shape))


def get_grid_dim(tensor_shape, block_shape) -> tuple[int, ...]:
    """Blocks along each dimension."""
    return tuple(-(-dim // block) for dim, block in zip(tensor_shape, block_shape))


def get_n_elements_with_grid(block_shape, grid) -> int:
    """Elements of one block per program of ``grid``."""
    return math.prod(block_shape) * math.prod(grid)
