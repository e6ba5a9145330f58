"""Imports every table model so that SQLModel's metadata knows them all (used by migrations)."""

from sqlmodel import SQLModel

import broadcast.broadcast_models
import broadcast.bulletin_models
import broadcast.models
import stations.models

__all__ = ["SQLModel", "broadcast", "stations"]

metadata = SQLModel.metadata
