"""Emergency templates: pre-recorded phrases and slots per hazard and language."""
