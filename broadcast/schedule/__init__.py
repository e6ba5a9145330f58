"""Broadcasts and their airings: scheduling, recurrence rules in plain words."""
