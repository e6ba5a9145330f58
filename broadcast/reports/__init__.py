"""What aired: coverage and as-run reports, exports, the iCalendar feed."""
