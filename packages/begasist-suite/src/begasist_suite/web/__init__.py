"""The staff web app: server-rendered pages (Jinja2), our own CSS and script, es/en.

:func:`install` is all the app factory calls: it adds the pages, the static
files and the template engine to the app's configuration. Every page is
behind the same session, CSRF, role and hotel checks as the API, and every
answer carries :data:`~begasist_suite.web.security.SECURITY_HEADERS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from litestar import Router
from litestar.config.app import AppConfig
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from begasist_suite.web.actions import ConversationActions
from begasist_suite.web.admin_apps import AdminAppPages
from begasist_suite.web.admin_pages import AdminHotelPages
from begasist_suite.web.admin_users import AdminUserPages
from begasist_suite.web.assistant_pages import AssistantPages
from begasist_suite.web.channel_pages import ChannelPages
from begasist_suite.web.conversation_forms import ConversationForms
from begasist_suite.web.errors import WEB_EXCEPTION_HANDLERS
from begasist_suite.web.guest_forms import GuestForms
from begasist_suite.web.inbox_pages import InboxPages
from begasist_suite.web.invitation_pages import InvitationPages
from begasist_suite.web.operations_pages import OperationsPages
from begasist_suite.web.pages import jinja_environment
from begasist_suite.web.security import STATIC_HEADERS, SecurityHeadersMiddleware
from begasist_suite.web.session_pages import SessionPages
from begasist_suite.web.team_pages import TeamPages

__all__ = ["STATIC_PATH", "install"]

STATIC_DIR: Final = Path(__file__).parent / "static"
STATIC_PATH: Final = "/static"


def install(app_config: AppConfig) -> AppConfig:
    """Add the web app to *app_config* (an ``on_app_init`` hook of the suite's app)."""
    pages = Router(
        path="/",
        route_handlers=[
            SessionPages,
            InboxPages,
            ConversationActions,
            ConversationForms,
            GuestForms,
            ChannelPages,
            AssistantPages,
            TeamPages,
            InvitationPages,
            OperationsPages,
            AdminHotelPages,
            AdminUserPages,
            AdminAppPages,
        ],
        middleware=[SecurityHeadersMiddleware],
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        name="static",
        include_in_schema=False,
        middleware=[DefineMiddleware(SecurityHeadersMiddleware, headers=STATIC_HEADERS)],
    )
    app_config.route_handlers.extend([pages, static])
    app_config.template_config = TemplateConfig(
        instance=JinjaTemplateEngine.from_environment(jinja_environment())
    )
    return app_config
