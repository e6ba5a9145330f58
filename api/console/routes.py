"""All console pages in one router."""

from __future__ import annotations

from fastapi import APIRouter

from api.console import (
    alert_pages,
    area_pages,
    auth_pages,
    bulletin_pages,
    campaign_pages,
    home_pages,
    notification_pages,
    relay_pages,
    report_pages,
    schedule_pages,
    series_pages,
    station_pages,
    template_pages,
    timeline_pages,
    voice_pages,
    webhook_pages,
)


def console_router() -> APIRouter:
    """Every console page (not listed in the OpenAPI document)."""
    router = APIRouter(include_in_schema=False)
    for module in (
        auth_pages,
        home_pages,
        station_pages,
        area_pages,
        bulletin_pages,
        campaign_pages,
        notification_pages,
        schedule_pages,
        series_pages,
        relay_pages,
        report_pages,
        alert_pages,
        template_pages,
        timeline_pages,
        voice_pages,
        webhook_pages,
    ):
        router.include_router(module.router)
    return router
