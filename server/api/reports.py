"""The console's reports: monthly subsidy statements and service statistics, as JSON, CSV or XLSX."""
from flask import Response

from models.reports import Stats, StatsQuery, SubsidyQuery, SubsidyStatement
from models.types import utcnow
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.exports import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes, xlsx_bytes
from server.services import statistics, subsidies
from server.state import state

api = blueprint("reports", "报表", "Reports")


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/center/subsidies", responses={200: SubsidyStatement})
def subsidy_statement(query: SubsidyQuery):
    """补贴结算: the month's payable visits (illustrative rates unless configured), flagged ones apart."""
    statement = subsidies.subsidy_statement(session=db.session(), user=current_user(), month=query.month,
                                            community_id=query.community_id, rates=state().settings.subsidy_rates)
    name = f"subsidies-{query.month}" + (f"-c{query.community_id}" if query.community_id else "")
    if query.format == "csv":
        return _attachment(csv_bytes(subsidies.statement_tables(statement)), f"{CSV_MIMETYPE}; charset=utf-8",
                           f"{name}.csv")
    if query.format == "xlsx":
        return _attachment(xlsx_bytes(subsidies.statement_tables(statement)), XLSX_MIMETYPE, f"{name}.xlsx")
    return reply(statement)


@api.get("/center/stats", responses={200: Stats})
def service_stats(query: StatsQuery):
    """统计: requests, fulfilment, response times and SOS acknowledgement per community and service type."""
    stats = statistics.service_stats(session=db.session(), user=current_user(), start=query.from_, end=query.to,
                                     community_id=query.community_id, service_type=query.service_type, now=utcnow())
    if query.format == "csv":
        name = f"stats-{stats.from_.isoformat()}-{stats.to.isoformat()}.csv"
        return _attachment(csv_bytes(statistics.stats_tables(stats)), f"{CSV_MIMETYPE}; charset=utf-8", name)
    return reply(stats.model_dump(mode="json", by_alias=True))
