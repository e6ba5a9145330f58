"""Imports every table model so that SQLModel's metadata knows them all (used by migrations)."""

from sqlmodel import SQLModel

import broadcast.alerts.models
import broadcast.bulletins.models
import broadcast.campaigns.models
import broadcast.delivery.models
import broadcast.notifications.models
import broadcast.people.models
import broadcast.relays.models
import broadcast.schedule.blackouts
import broadcast.schedule.models
import broadcast.templates.models
import broadcast.webhooks.models
import stations.models

__all__ = ["SQLModel", "broadcast", "stations"]

metadata = SQLModel.metadata
