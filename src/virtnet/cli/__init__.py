"""Thin command-line layer: parse flags, call one library function, pick a formatter, map errors to exit codes."""
