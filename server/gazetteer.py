"""The app's geocoder, built once from the districts and communities in the database."""
from __future__ import annotations

from geopy.geocoders.base import Geocoder
from sqlmodel import Session, select

from models.places import Community, District
from server import db
from server.geocoding import Place, make_geocoder
from server.state import state



def known_places(session: Session) -> list[Place]:
    """Every district seat and community as a gazetteer entry."""
    places = [Place(d.name_zh, None, d.seat_lat, d.seat_lon) for d in session.exec(select(District)).all()]
    places += [Place(c.name, c.district, c.lat, c.lon) for c in session.exec(select(Community)).all()]
    return places


def current_geocoder() -> Geocoder:
    """The configured geocoder (offline gazetteer by default), built on first use."""
    held = state()
    if held.geocoder is None:
        settings = held.settings
        places = known_places(db.session()) if settings.geocoder == "offline" else []
        held.geocoder = make_geocoder(settings.geocoder, settings.geocoder_options, places)
    return held.geocoder
