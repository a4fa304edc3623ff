"""The views of a request each party may see, and what events carry."""
from __future__ import annotations

from sqlmodel import Session, select

from dispatch.visits import address_visible
from models.providers import Provider
from models.requests import Rating, RequestPublic, ServiceRequest
from models.seniors import Senior


def event_view(request: ServiceRequest) -> dict:
    """What events carry: the request without address or phone (clients re-fetch the rest)."""
    return RequestPublic.model_validate(request, from_attributes=True).model_dump(mode="json")


def public_view(request: ServiceRequest, senior: Senior, *, for_provider_id: int | None = None) -> RequestPublic:
    """The request as its viewer may see it: the senior's side sees the address; a provider only
    while assigned to the visit (acceptance to check-out)."""
    view = RequestPublic.model_validate(request, from_attributes=True)
    if for_provider_id is not None and not (request.provider_id == for_provider_id
                                            and address_visible(request.status)):
        return view
    return view.model_copy(update={"address": senior.address, "senior_name": senior.name,
                                   "senior_phone": senior.phone, "lat": senior.lat, "lon": senior.lon})


def with_provider_and_rating(session: Session, views: list[RequestPublic]) -> list[RequestPublic]:
    """The views with the assigned provider's name and the rating's stars (one query each for a list)."""
    provider_ids = {v.provider_id for v in views if v.provider_id is not None}
    names = dict(session.exec(select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))).all()) \
        if provider_ids else {}
    done = [v.id for v in views if v.completed_at is not None]
    stars = dict(session.exec(select(Rating.request_id, Rating.stars).where(Rating.request_id.in_(done))).all()) \
        if done else {}
    return [v.model_copy(update={"provider_name": names.get(v.provider_id), "rating_stars": stars.get(v.id)})
            for v in views]
