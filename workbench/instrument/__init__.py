"""Values from inside a kernel: dumps at every level, probes, watches, first divergence, and the
comparison of two Triton releases."""
