"""The views of a request each party may see, and what events carry."""
from __future__ import annotations

from dispatch.visits import address_visible
from models.requests import RequestPublic, ServiceRequest
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
