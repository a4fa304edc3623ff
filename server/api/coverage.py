"""The console's coverage, map and station siting (docs/console.md, docs/coverage.md)."""
from pydantic import BaseModel, ConfigDict, Field

from dispatch.catalog import ServiceType
from models.coverage import CoveragePublic, MapPublic, SitingPublic
from models.types import QueryId
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.services import coverage
from server.steps.coverage import CoverageCache, coverage_cache

api = blueprint("coverage", "覆盖与选址", "Coverage and siting")


def _cache() -> CoverageCache:
    from server.state import state

    held = state()
    return coverage_cache(held.extras, held.engine)


class CoverageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_type: ServiceType
    community_id: QueryId | None = None
    uncovered_limit: int = Field(200, ge=0, le=5000)


class MapQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_type: ServiceType
    community_id: QueryId | None = None


class SitingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_type: ServiceType
    k: int = Field(3, ge=1, le=20)
    radius_km: float = Field(3.0, ge=0.5, le=20.0)
    community_id: QueryId | None = None


@api.get("/center/coverage", responses={200: CoveragePublic})
def get_coverage(query: CoverageQuery):
    """Share of seniors covered for a service type, per community and care level, and the uncovered ones."""
    return reply(coverage.coverage_report(session=db.session(), user=current_user(), cache=_cache(),
                                          service_type=query.service_type, community_id=query.community_id,
                                          uncovered_limit=query.uncovered_limit))


@api.get("/center/map", responses={200: MapPublic})
def get_coverage_map(query: MapQuery):
    """Seniors (positions to ~100 m) with their coverage, providers with their radii, communities."""
    return reply(coverage.coverage_map(session=db.session(), user=current_user(), cache=_cache(),
                                       service_type=query.service_type, community_id=query.community_id))


@api.get("/center/siting", responses={200: SitingPublic})
def get_siting(query: SitingQuery):
    """k suggested station sites covering the most uncovered seniors, weighted by care level."""
    return reply(coverage.suggest_sites(session=db.session(), user=current_user(), cache=_cache(),
                                        service_type=query.service_type, k=query.k, radius_km=query.radius_km,
                                        community_id=query.community_id))
