"""Filler: a station's broadcast hours filled with its own tracks when nothing airs."""
