"""Which hazard a CAP alert warns of: its `event` words first, then its `category`.

The table is data: a province adds words by extending EVENT_WORDS. Words are matched
whole, case aside, with their tone marks (without them "bão", storm, would be "báo",
as in "cảnh báo"); the few unambiguous words warning systems also send without tone
marks are listed that way too. The first
hazard whose word appears in the event wins, so the more specific words come first
("lũ quét" before any plain flood word). docs/bulletins.md lists the table.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from broadcast.templates.models import Hazard

# (hazard, words of a CAP `event` naming it), in the order they are tried.
EVENT_WORDS: tuple[tuple[Hazard, tuple[str, ...]], ...] = (
    (Hazard.flash_flood, ("lũ quét", "lũ ống", "lu quet", "flash flood", "flashflood")),
    (
        Hazard.landslide,
        ("sạt lở", "sạt trượt", "trượt lở", "lở đất", "sat lo", "landslide", "mudslide"),
    ),
    (Hazard.forest_fire, ("cháy rừng", "chay rung", "forest fire", "wildfire", "bushfire")),
    (
        Hazard.storm,
        ("bão", "áp thấp nhiệt đới", "dông lốc", "lốc xoáy", "typhoon", "storm", "cyclone"),
    ),
    (Hazard.epidemic, ("dịch", "epidemic", "outbreak", "pandemic", "disease")),
)

# CAP 1.2 `category` values and the hazard each suggests when the event says nothing known.
CATEGORY_HAZARDS: dict[str, Hazard] = {
    "Geo": Hazard.landslide,
    "Fire": Hazard.forest_fire,
    "Health": Hazard.epidemic,
}


def fold(text: str) -> str:
    """Lower case, tone marks and diacritics removed, đ as d, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def _words(text: str) -> str:
    """The text in lower case with punctuation as spaces, padded to find whole words."""
    lowered = unicodedata.normalize("NFC", text.casefold())
    cleaned = "".join(ch if ch.isalnum() else " " for ch in lowered)
    return f" {' '.join(cleaned.split())} "


def hazard_of(events: Iterable[str], categories: Sequence[str] = ()) -> Hazard | None:
    """The hazard named by any of the events (in table order), else by a category; or None."""
    texts = [_words(e) for e in events if e]
    for hazard, words in EVENT_WORDS:
        for word in words:
            needle = _words(word)
            if any(needle in text for text in texts):
                return hazard
    for category in categories:
        found = CATEGORY_HAZARDS.get(category.strip())
        if found is not None:
            return found
    return None
