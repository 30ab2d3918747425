"""The store's invitations to join a hotel: pending, then accepted or revoked, once.

They live in the ``credentials`` collection (Astra allows ten collections;
the store uses ten), whose indexed fields fit them: ``kind`` is the state
(``invitation``, ``invitation_used``, ``invitation_revoked``), so taking a
pending invitation is one compare-and-set on an indexed field, and no
listing of sessions or tokens asks for these kinds; ``hotel`` is the hotel
(deleting it deletes them); ``user_id`` is who invited; ``expires_at`` is
when the link stops working, and when the purge of expired credentials
removes the record. The ``_id`` starts with ``invite|``, which no
credential digest (64 hex digits) does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from begasist_core import utc_now

from begasist_suite.store.base import StoreBase, _strip
from begasist_suite.store.documents import iso
from begasist_suite.store.records import Invitation, InvitationState

__all__ = ["InvitationStore"]

_PREFIX: Final = "invite|"
_KINDS: Final = {
    InvitationState.PENDING: "invitation",
    InvitationState.ACCEPTED: "invitation_used",
    InvitationState.REVOKED: "invitation_revoked",
}
_STATES: Final = {kind: state for state, kind in _KINDS.items()}


class InvitationStore(StoreBase):
    """Invitations by the digest of their link's secret."""

    async def add_invitation(self, invitation: Invitation) -> Invitation:
        await self._credentials.insert(_document(invitation))
        return invitation

    async def get_invitation(self, digest: str) -> Invitation | None:
        """The invitation whose secret hashes to *digest*, in whatever state (expired too,
        until purged), so its page can say why it no longer works."""
        found = await self._credentials.find_one({"_id": _PREFIX + digest})
        return None if found is None else _invitation(found)

    async def list_invitations(
        self, hotel: str, *, now: datetime | None = None
    ) -> list[Invitation]:
        """*hotel*'s pending invitations that have not expired, newest first."""
        found = await self._credentials.find(
            {"kind": _KINDS[InvitationState.PENDING], "hotel": hotel}
        )
        moment = now or utc_now()
        live = [i for i in map(_invitation, found) if i.expires_at > moment]
        return sorted(live, key=lambda i: (i.created_at, i.id), reverse=True)

    async def revoke_invitation(self, hotel: str, invitation_id: str) -> bool:
        """Revoke *hotel*'s pending invitation *invitation_id*; False if there is none."""
        for invitation in await self.list_invitations(hotel):
            if invitation.id == invitation_id:
                return await self._move(invitation.digest, InvitationState.REVOKED, None)
        return False

    async def take_invitation(self, digest: str, user_id: str) -> Invitation | None:
        """Mark the pending, unexpired invitation accepted by *user_id*, once: the
        invitation, or None when it is not (or no longer) pending or has expired.

        A compare-and-set on its state, so of two acceptances at once one wins.
        """
        invitation = await self.get_invitation(digest)
        if invitation is None or invitation.state is not InvitationState.PENDING:
            return None
        if invitation.expires_at <= utc_now():
            return None
        if not await self._move(digest, InvitationState.ACCEPTED, user_id):
            return None
        return invitation.model_copy(
            update={"state": InvitationState.ACCEPTED, "accepted_by": user_id}
        )

    async def give_back_invitation(self, digest: str) -> None:
        """Make a taken invitation pending again (its acceptance failed after taking it)."""
        await self._credentials.update_one(
            {"_id": _PREFIX + digest, "kind": _KINDS[InvitationState.ACCEPTED]},
            {"$set": {"kind": _KINDS[InvitationState.PENDING], "accepted_by": None}},
        )

    async def _move(self, digest: str, state: InvitationState, user_id: str | None) -> bool:
        moved = await self._credentials.update_one(
            {"_id": _PREFIX + digest, "kind": _KINDS[InvitationState.PENDING]},
            {"$set": {"kind": _KINDS[state], "accepted_by": user_id}},
        )
        return moved is not None


def _document(invitation: Invitation) -> dict[str, Any]:
    fields = invitation.model_dump(mode="json", exclude={"state", "invited_by"})
    return {
        **fields,
        "_id": _PREFIX + invitation.digest,
        "kind": _KINDS[invitation.state],
        "user_id": invitation.invited_by,
        "expires_at": iso(invitation.expires_at),
    }


def _invitation(document: dict[str, Any]) -> Invitation:
    fields = _strip(document, "kind", "user_id")
    return Invitation.model_validate(
        {**fields, "state": _STATES[document["kind"]], "invited_by": document["user_id"]}
    )
