"""The engine: capture, compile from any level, source maps. Never imports textual."""
