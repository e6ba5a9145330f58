"""The application core, one subpackage per domain.

- `core`: settings, the database and its bulk statements, the audit log.
- `people`: users, sign-in, access tokens, password-guess throttling.
- `bulletins`: bulletins, language versions, approval, rendering, recordings, media files.
- `schedule`: broadcasts and their airings, recurrence rules in plain words.
- `delivery`: programmes, dispatch, the delivery state machine, ingest, deadlines, status.
- `reports`: coverage and as-run reports, exports, the iCalendar feed.
- `broker`: the embedded broker's authority and mosquitto's files.
- `runtime`: the worker and the background service that run the parts together.
"""
