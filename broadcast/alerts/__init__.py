"""CAP 1.2 alerts: intake, per-area airing rules, holds and releases."""
