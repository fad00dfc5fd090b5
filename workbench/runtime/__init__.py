"""Running kernels: capture of a script's launches, replay from any level, verification, timing,
autotune configs. Never imports textual."""
