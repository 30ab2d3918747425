"""The inbox and a conversation: the list on the left, the thread, the guest on the right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from begasist_core import ConversationStatus, ReplyMode
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, PathParameter, QueryParameter
from litestar.response import Template

from begasist_suite.auth.principal import HotelAccess
from begasist_suite.inbox.drafts import mark_conversation_read
from begasist_suite.services import Services
from begasist_suite.store.base import MAX_PAGE
from begasist_suite.store.records import ASSISTANT, DraftStatus, User
from begasist_suite.web.callers import page_access, page_principal, services_of
from begasist_suite.web.conversation_panel import conversation_panel
from begasist_suite.web.pages import language_of, load_chrome, render
from begasist_suite.web.views import (
    assignee_name,
    channel_label,
    conversation_rows,
    guest_name,
    message_views,
    status_words,
)

__all__ = ["InboxFilters", "InboxPages"]

PAGE_SIZE: Final = 50
THREAD_SIZE: Final = 200
View = Literal["all", "mine", "unassigned"]
Status = Literal["open", "resolved"]
Mode = Literal["automatic", "supervised", "manual"]
Id = Annotated[str, PathParameter(max_length=64)]
Search = Annotated[str | None, QueryParameter(max_length=100)]


@dataclass(frozen=True)
class InboxFilters:
    """The list's tabs and picker, kept in every link of the page."""

    view: View = "all"
    status: Status = "open"
    channel: str | None = None
    q: str | None = None
    """The search: a guest's name, phone or address (``store/search.py``)."""
    mode: Mode | None = None
    """Only conversations to which this reply mode applies (``store/reply_modes.py``)."""

    def query(self, **changes: str | None) -> str:
        """The query string of these filters with *changes* (None drops a key)."""
        values = {
            "view": self.view,
            "status": self.status,
            "channel": self.channel,
            "mode": self.mode,
            "q": self.q,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v})


async def _people(services: Services, hotel: str) -> dict[str, User]:
    """The hotel's members by id (for assignees and approvers): two queries, however many."""
    memberships = await services.store.list_memberships(hotel=hotel)
    return await services.store.get_users(m.user_id for m in memberships)


async def _inbox_context(
    request: Request[Any, Any, Any],
    access: HotelAccess,
    filters: InboxFilters,
    cursor: str | None,
    people: dict[str, User],
) -> dict[str, Any]:
    services = services_of(request)
    hotel = access.hotel.slug
    page = await services.store.list_conversations(
        hotel,
        channel=filters.channel,
        status=ConversationStatus(filters.status),
        assignee=access.user.id if filters.view == "mine" else None,
        unassigned=filters.view == "unassigned",
        search=filters.q,
        mode=None if filters.mode is None else ReplyMode(filters.mode),
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    # Only the listed conversations' drafts matter, in one query (never per row).
    pending = await services.store.list_drafts(
        hotel,
        conversation_ids=[c.id for c in page.items],
        status=DraftStatus.PENDING,
        limit=MAX_PAGE,
    )
    channels = sorted(c.channel for c in await services.store.list_channel_configs(hotel))
    current = language_of(request)
    return {
        "hotel": access.hotel,
        "unread_total": await services.store.hotel_unread(hotel),
        "filters": filters,
        "rows": conversation_rows(
            page.items,
            language=current,
            people=people,
            pending_drafts={d.conversation_id for d in pending.items},
        ),
        "next_cursor": page.next_cursor,
        "channels": [(name, channel_label(name, current)) for name in channels],
    }


class InboxPages(Controller):
    path = "/hotels"
    include_in_schema = False

    @get("/")
    async def hotels(self, request: Request[Any, Any, Any]) -> Template:
        """The hotels the person works in (the switcher as a page)."""
        principal = await page_principal(request)
        chrome = await load_chrome(services_of(request), principal, None)
        return render(request, "hotels.html", chrome=chrome)

    @get("/{hotel:str}/inbox")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        view: Annotated[View, QueryParameter()] = "all",
        status: Annotated[Status, QueryParameter()] = "open",
        channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
        q: Search = None,
        cursor: Annotated[str | None, QueryParameter(max_length=128)] = None,
        mode: Annotated[Mode | None, QueryParameter()] = None,
    ) -> Template:
        """The hotel's conversations, newest activity first, with the tabs, the picker and
        the search."""
        principal, access = await page_access(request, hotel)
        services = services_of(request)
        filters = InboxFilters(view, status, channel or None, (q or "").strip() or None, mode)
        people = await _people(services, access.hotel.slug)
        context = await _inbox_context(request, access, filters, cursor, people)
        chrome = await load_chrome(services, principal, access)
        return render(request, "inbox.html", chrome=chrome, conversation=None, **context)

    @get("/{hotel:str}/conversations/{conversation_id:str}")
    async def conversation(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        conversation_id: Id,
        view: Annotated[View, QueryParameter()] = "all",
        status: Annotated[Status, QueryParameter()] = "open",
        channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
        q: Search = None,
        before: Annotated[str | None, QueryParameter(max_length=128)] = None,
        mode: Annotated[Mode | None, QueryParameter()] = None,
    ) -> Template:
        """One conversation: its newest messages (or those *before* a cursor: "Older
        messages"), pending drafts, actions and guest; the list beside."""
        principal, access = await page_access(request, hotel)
        services = services_of(request)
        slug = access.hotel.slug
        found = await services.store.get_conversation(slug, conversation_id)
        if found is None:
            raise NotFoundException("not found")
        if found.unread:
            # Opening the conversation is reading it (and live.js fetching it again,
            # when a guest writes while it is open): before the list, which shows counts.
            await mark_conversation_read(services, slug, found.id)
            found = found.model_copy(update={"unread": 0})
        filters = InboxFilters(view, status, channel or None, (q or "").strip() or None, mode)
        people = await _people(services, slug)
        context = await _inbox_context(request, access, filters, None, people)
        messages = await services.store.list_messages(
            slug, found.id, limit=THREAD_SIZE, cursor=before, newest_first=True
        )
        senders = {m.sent_by for m in messages.items if m.sent_by and m.sent_by != ASSISTANT}
        if not senders <= people.keys():
            # Who sent a reply and is no member now (a platform admin, someone removed).
            people = {**people, **await services.store.get_users(senders - people.keys())}
        drafts = (
            await services.store.list_drafts(slug, conversation_id=found.id, limit=MAX_PAGE)
        ).items
        guest = (
            None if found.guest_id is None else await services.store.get_guest(slug, found.guest_id)
        )
        current = language_of(request)
        quoted = await services.store.messages_by_provider_id(
            slug, found.channel, {m.reply_to for m in messages.items if m.reply_to}
        )
        chrome = await load_chrome(services, principal, access)
        panel = await conversation_panel(services, access, found, guest, current, messages.items)
        return render(
            request,
            "inbox.html",
            chrome=chrome,
            conversation=found,
            guest_name=(guest.display_name if guest and guest.display_name else None)
            or guest_name(found),
            guest=guest,
            conversation_channel=channel_label(found.channel, current),
            assignee=None if found.assignee is None else assignee_name(found.assignee, people),
            assigned_to_me=found.assignee == access.user.id,
            messages=message_views(
                reversed(messages.items),
                conversation=found,
                drafts=drafts,
                people=people,
                language=current,
                quoted=quoted,
            ),
            status_words=status_words(current),
            older_messages=messages.next_cursor,
            newer_messages=before is not None,
            pending_drafts=[d for d in drafts if d.status is DraftStatus.PENDING],
            **panel,
            **context,
        )
