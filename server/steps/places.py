"""Looking up communities: by position and by id."""
from __future__ import annotations

from sqlmodel import Session, select

from dispatch.geo import great_circle_km
from models.places import Community
from server.errors import Invalid, NotFound


def nearest_community(session: Session, lat: float, lon: float) -> Community:
    """The community whose centre is nearest to the point (communities are few: a scan is fine)."""
    rows = session.exec(select(Community)).all()
    if not rows:
        raise NotFound("尚无社区数据 / No communities loaded", code="no_communities")
    return min(rows, key=lambda c: great_circle_km(lat, lon, c.lat, c.lon))


def require_community(session: Session, community_id: int) -> Community:
    """The community, or a 422 naming the field."""
    community = session.get(Community, community_id)
    if community is None:
        raise Invalid("未知社区 / Unknown community", code="unknown_community",
                      details=[{"field": "community_id", "message": "unknown community"}])
    return community
