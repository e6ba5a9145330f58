"""The long-running parts wired together: the worker and the background service."""
