"""Folio's desktop app: a thin PySide6 shell over the engine."""
