"""The REST API under /api/v1: blueprints that parse, call one service and serialise."""
from __future__ import annotations

from collections.abc import Sequence

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from server.hooks import ErrorBody

PREFIX = "/api/v1"
BEARER = [{"bearer": []}]


def blueprint(name: str, tag_zh: str, tag_en: str, *, signed_in: bool = True) -> APIBlueprint:
    """An API blueprint under /api/v1 with one OpenAPI tag; signed_in=False documents no security
    (flask-openapi3 adds a blueprint's security to every route's, so a route cannot opt out).
    The 422 is documented as the error shape here: flask-openapi3 alone would call it an array."""
    return APIBlueprint(name, __name__, url_prefix=PREFIX,
                        abp_tags=[Tag(name=name, description=f"{tag_zh} / {tag_en}")],
                        abp_security=BEARER if signed_in else None, abp_responses={422: ErrorBody})


def reply(value: BaseModel | Sequence[BaseModel] | dict, status: int = 200) -> Response:
    """Serialise a schema (or a list of them) as JSON with status."""
    if isinstance(value, BaseModel):
        body = value.model_dump(mode="json")
    elif isinstance(value, dict):
        body = value
    else:
        body = [item.model_dump(mode="json") for item in value]
    response = jsonify(body)
    response.status_code = status
    return response


def directory():
    """This process's provider directory (the dispatch geo index)."""
    from server.state import state

    return state().directory


def limit(setting: str):
    """The current value of a rate-limit setting, for Flask-Limiter's callables."""
    from server.state import state

    return lambda: getattr(state().settings, setting)


def register_api(app) -> None:
    """Attach every API blueprint to the app."""
    from server.api import (accounts, center, complaints, coverage, plans, providers, push, reference, reports,
                            requests, safety, seniors)

    for module in (accounts, reference, seniors, providers, requests, safety, center, push, plans, complaints,
                   reports, coverage):
        app.register_api(module.api)
