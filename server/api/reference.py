"""Reference data anyone may read: communities and service types."""

from models.places import CommunityPublic, ServiceTypePublic
from server import db
from server.api import blueprint, reply
from server.services import communities

api = blueprint("reference", "基础数据", "Reference data", signed_in=False)


@api.get("/communities", responses={200: CommunityPublic})
def list_communities():
    """Every community (街道/乡镇/村社区) with its district, kind and centre."""
    return reply(communities.list_communities(session=db.session()))


@api.get("/service-types", responses={200: ServiceTypePublic})
def list_service_types():
    """The service types: 助餐, 助洁, 助行, 助浴, 助医."""
    return reply(communities.list_service_types())
