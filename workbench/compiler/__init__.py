"""Triton's vocabulary: the stage loop from any level, pass recording, the stage cache, launch metadata,
cubins and SASS, and everything that differs between Triton releases (compat). Never imports textual."""
