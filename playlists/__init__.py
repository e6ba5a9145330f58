"""Commune programmes: approved bulletins in a station's languages, ordered for one slot."""

from playlists.programme import (
    IDENT_LANGUAGE,
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
    "IDENT_LANGUAGE",
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
