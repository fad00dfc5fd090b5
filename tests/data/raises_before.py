"""A script that fails before it launches anything."""
import torch  # noqa: F401

config = {"block": 128}
size = config["blocks"]  # line 5: KeyError
