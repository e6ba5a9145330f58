"""Campaigns: a plan's content lines (themes), target areas and targets, and its progress."""
