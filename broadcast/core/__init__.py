"""Infrastructure: settings, the database and its bulk statements, the audit log."""
