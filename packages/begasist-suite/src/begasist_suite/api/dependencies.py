"""Litestar dependencies shared by the controllers: services, caller, hotel access."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from begasist_suite.auth.principal import HotelAccess, Principal, hotel_access, resolve_principal
from begasist_suite.services import Services

__all__ = ["DEPENDENCIES", "AccessDep", "PrincipalDep", "ServicesDep"]

ServicesDep = NamedDependency[Services]
PrincipalDep = NamedDependency[Principal]
AccessDep = NamedDependency[HotelAccess]


def _services(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


async def _principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    return await resolve_principal(request, services)


async def _access(
    hotel: FromPath[str], principal: PrincipalDep, services: ServicesDep
) -> HotelAccess:
    return await hotel_access(hotel, principal, services)


DEPENDENCIES = {
    "services": Provide(_services, sync_to_thread=False),
    "principal": Provide(_principal),
    "access": Provide(_access),
}
"""Ask for ``services``, ``principal`` or ``access`` (needs a ``{hotel}`` path parameter)."""
