"""Commune programmes: approved bulletins in a station's languages, ordered for one slot."""

from playlists.programme import (
    PRIORITY_RANK,
    MediaAsset,
    Programme,
    ProgrammeEntry,
    ProgrammeItem,
    ProgrammeWarning,
    SlotRules,
    airing_order,
    assemble,
)

__all__ = [
    "PRIORITY_RANK",
    "MediaAsset",
    "Programme",
    "ProgrammeEntry",
    "ProgrammeItem",
    "ProgrammeWarning",
    "SlotRules",
    "airing_order",
    "assemble",
]
