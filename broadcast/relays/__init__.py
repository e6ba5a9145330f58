"""Relays of live radio: an area's stream sources, aired at fixed hours by its stations."""
