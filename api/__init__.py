"""The FastAPI face of Loa: REST v1, media downloads and the web console."""
