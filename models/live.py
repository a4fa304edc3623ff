"""The community center's live operations: what the console shows, and a request's candidates."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import SQLModel

from dispatch.catalog import ServiceType
from models.requests import RequestPublic
from models.sos import SosPublic


class LiveRequest(RequestPublic):
    """An open request (no address): overdue when not in service 30 minutes after its start."""

    overdue: bool


class LiveProvider(SQLModel):
    """An on-duty provider; the position is coarse (~1 km), never where they are to the metre."""

    id: int
    name: str
    services: list[ServiceType]
    lat: float
    lon: float
    on_duty: bool
    active_load: int  # visits assigned, en route or in service


class LiveSnapshot(SQLModel):
    at: datetime
    requests: list[LiveRequest]
    sos: list[SosPublic]
    providers: list[LiveProvider]


class CandidateReason(SQLModel):
    code: str
    zh: str
    en: str
    points: float


class CandidateBlock(SQLModel):
    code: str
    zh: str
    en: str


class CandidatePublic(SQLModel):
    """A provider staff might assign: eligible ones with their score's reasons, others with why not."""

    provider_id: int
    name: str
    distance_km: float
    score: float | None
    eligible: bool
    reasons: list[CandidateReason]
    blocked: list[CandidateBlock]
