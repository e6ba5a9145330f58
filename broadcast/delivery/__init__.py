"""From an airing to the receivers and back.

Programmes, dispatch, the delivery state machine, acknowledgement ingest,
deadlines, status and dead letters."""
