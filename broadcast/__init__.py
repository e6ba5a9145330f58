"""The application core: settings, database, users, bulletins, scheduling and dispatch."""
