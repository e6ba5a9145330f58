"""Bulletins, their language versions, approval, audio rendering and media files."""
