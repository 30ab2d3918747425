"""Threading on a real Redis: reply chains, Outlook's rewrites, subjects, guests kept apart."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from begasist_channels_email.parsing import parse_email
from begasist_channels_email.threads import (
    MAX_REFERENCES,
    THREAD_TTL,
    ThreadIndex,
    conversation_key_for,
    guest_of,
    normalized_subject,
)
from begasist_core import ChannelKeys, StreamNames
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parent / "corpus"
ANA = "ana@example.com"
BEN = "ben@example.org"


@dataclass(frozen=True)
class Mail:
    """The fields threading reads, as ``parsing.ParsedEmail`` has them."""

    message_id: str | None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    thread_index: str | None = None
    subject: str = ""
    date: datetime | None = None


@pytest.fixture
def threads(begasist_redis: Redis, begasist_names: StreamNames) -> ThreadIndex:
    return ThreadIndex(ChannelKeys(begasist_redis, begasist_names, "plaza", "email"))


async def _place(
    threads: ThreadIndex, mail: Mail, guest: str = ANA, *, new_subject: bool = True
) -> str:
    """Thread *mail* and remember it, as the receiver does."""
    key = await threads.conversation_for(mail, guest, new_subject_new_conversation=new_subject)
    assert mail.message_id is not None
    await threads.remember(mail.message_id, key, mail.subject, thread_index=mail.thread_index)
    return key


def test_keys_name_the_guest_and_the_root() -> None:
    key = conversation_key_for("Ana@Example.com", "<root@x>")

    assert key == conversation_key_for("ana@example.com", "root@x")
    assert guest_of(key) == "ana@example.com"
    assert guest_of("not-ours") is None
    assert len(conversation_key_for("a" * 64 + "@" + "b" * 255, "c" * 900)) <= 512


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: Reserva  doble", "reserva doble"),
        ("RV: Reserva", "reserva"),
        ("AW: Antw: Buchung", "buchung"),
        ("Enc: Re[3]: Factura", "factura"),
        ("Return policy", "return policy"),
        ("", ""),
    ],
)
def test_normalized_subject(subject: str, expected: str) -> None:
    assert normalized_subject(subject) == expected


async def test_a_new_mail_opens_a_conversation_rooted_at_itself(threads: ThreadIndex) -> None:
    key = await _place(threads, Mail("first@x", subject="Reserva"))

    assert key == conversation_key_for(ANA, "first@x")


async def test_in_reply_to_and_references_chain(threads: ThreadIndex) -> None:
    root = await _place(threads, Mail("first@x", subject="Reserva"))

    by_in_reply_to = await _place(threads, Mail("second@x", ("first@x",), subject="Otra"))
    references_only = await _place(
        threads, Mail("third@x", references=("first@x", "second@x"), subject="Algo más")
    )

    assert by_in_reply_to == references_only == root


async def test_an_outlook_rewritten_in_reply_to_still_lands_in_its_thread(
    threads: ThreadIndex,
) -> None:
    root = await _place(threads, Mail("first@x", subject="Group booking"))
    rewritten = Mail(
        "reply@outlook",
        in_reply_to=("AM6PR-never-seen@outlook",),
        references=("first@x", "hotel-reply-never-seen@x"),
        subject="A different subject",
    )

    assert await _place(threads, rewritten) == root


async def test_outlook_thread_index_chains_without_any_reference(threads: ThreadIndex) -> None:
    root = await _place(
        threads,
        Mail("o1@outlook", thread_index="AdvUYp3kQ2x0b1Y7R8ekMfPq9N2xVw==", subject="Booking"),
    )
    child = Mail(
        "o2@outlook",
        in_reply_to=("rewritten@outlook",),
        thread_index="AdvUYp3kQ2x0b1Y7R8ekMfPq9N2xVwAFc6RgAABxK0A=",
        subject="Something else",
    )

    assert await _place(threads, child) == root


async def test_a_redelivered_mail_keeps_its_conversation(threads: ThreadIndex) -> None:
    first = await _place(threads, Mail("first@x", subject="Reserva"))
    await _place(threads, Mail("second@x", subject="Parking"))

    again = await threads.conversation_for(
        Mail("first@x", subject="Reserva"), ANA, new_subject_new_conversation=False
    )

    assert again == first


async def test_a_new_subject_opens_a_conversation_only_when_the_setting_says_so(
    threads: ThreadIndex,
) -> None:
    first = await _place(threads, Mail("first@x", subject="Reserva"))

    joined = await threads.conversation_for(
        Mail("parking@x", subject="Parking"), ANA, new_subject_new_conversation=False
    )
    opened = await threads.conversation_for(
        Mail("parking@x", subject="Parking"), ANA, new_subject_new_conversation=True
    )

    assert joined == first
    assert opened == conversation_key_for(ANA, "parking@x")


async def test_the_same_subject_without_headers_joins_its_conversation(
    threads: ThreadIndex,
) -> None:
    booking = await _place(threads, Mail("first@x", subject="Reserva PLZ-1"))
    await _place(threads, Mail("other@x", subject="Parking"))

    found = await threads.conversation_for(
        Mail("again@x", subject="RE: reserva  plz-1"), ANA, new_subject_new_conversation=True
    )

    assert found == booking


async def test_two_guests_with_the_same_subject_are_kept_apart(threads: ThreadIndex) -> None:
    ana = await _place(threads, Mail("a1@x", subject="Check-in time"), ANA)
    ben = await _place(threads, Mail("b1@x", subject="Check-in time"), BEN)
    ben_reply_to_anas_thread = Mail("b2@x", ("a1@x",), subject="Re: Check-in time")

    assert ana != ben
    assert await _place(threads, ben_reply_to_anas_thread, BEN, new_subject=False) == ben


async def test_an_unknown_thread_is_rooted_at_its_first_reference(threads: ThreadIndex) -> None:
    key = await threads.conversation_for(
        Mail("m3@x", ("m2@x",), ("m1@x", "m2@x"), subject="Re: Hola"),
        ANA,
        new_subject_new_conversation=True,
    )

    assert key == conversation_key_for(ANA, "m1@x")


async def test_thread_headers_give_subject_and_chain(threads: ThreadIndex) -> None:
    key = await _place(threads, Mail("<first@x>", subject="Reserva"))
    await _place(threads, Mail("second@x", ("first@x",), subject="Re: Reserva"))
    await _place(threads, Mail("third@x", ("second@x",), subject="Re: Reserva"))

    assert await threads.thread_headers(key, "<second@x>") == (
        "Re: Reserva",
        "second@x",
        ("first@x", "second@x"),
    )
    assert await threads.thread_headers(key, None) == (
        "Re: Reserva",
        "third@x",
        ("first@x", "second@x", "third@x"),
    )
    assert (await threads.thread_headers(key, "sha256:" + "0" * 64))[1] == "third@x"
    assert await threads.thread_headers("unknown", "x@y") == (None, "x@y", ("x@y",))
    assert await threads.thread_headers("unknown", None) == (None, None, ())


async def test_references_are_capped_keeping_the_root(threads: ThreadIndex) -> None:
    key = await _place(threads, Mail("m0@x", subject="Larga"))
    for number in range(1, 40):
        await threads.remember(f"m{number}@x", key, "Re: Larga")

    _, answered, references = await threads.thread_headers(key, None)

    assert answered == "m39@x"
    assert len(references) == MAX_REFERENCES
    assert references[0] == "m0@x"
    assert references[-1] == "m39@x"


async def test_keys_expire(
    threads: ThreadIndex, begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    await _place(threads, Mail("first@x", subject="Reserva"))

    names = [name async for name in begasist_redis.scan_iter(match=f"{begasist_names.prefix}:*")]
    assert names
    for name in names:
        ttl = await begasist_redis.ttl(name)
        assert 0 < ttl <= THREAD_TTL.total_seconds()


async def test_corpus_threads(threads: ThreadIndex) -> None:
    """Real-world shaped mail: a Gmail reply, and an Outlook reply with In-Reply-To rewritten."""

    def parsed(name: str) -> Mail:
        email = parse_email((CORPUS / name).read_bytes(), max_bytes=10_000_000)
        assert email.message_id is not None
        assert email.from_address is not None
        fields = {field.name: getattr(email, field.name) for field in dataclasses.fields(Mail)}
        return Mail(**fields)

    question = parsed("gmail_es_question.eml")
    reply = parsed("gmail_es_reply.eml")
    booking = parsed("outlook_en_group_booking.eml")
    rewritten = dataclasses.replace(
        parsed("outlook_en_reply_rewritten.eml"), subject="Subject changed by the guest"
    )
    maria, john = "maria.garcia.lopez@gmail.com", "john.smith@contoso.com"

    gmail_thread = await _place(threads, question, maria)
    outlook_thread = await _place(threads, booking, john)

    assert await _place(threads, reply, maria) == gmail_thread
    assert await _place(threads, rewritten, john) == outlook_thread
    assert gmail_thread != outlook_thread
