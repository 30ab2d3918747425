"""parse_email never raises: on arbitrary bytes and on corpus messages with bytes changed.

Nor do its text helpers, on any string.
"""

from __future__ import annotations

from pathlib import Path

from begasist_channels_email.html_text import html_to_text
from begasist_channels_email.parsing import ParsedEmail, parse_email
from begasist_channels_email.quotes import strip_quoted
from hypothesis import given, settings
from hypothesis import strategies as st

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))
RAWS = [path.read_bytes() for path in CORPUS]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    assert isinstance(parse_email(raw, max_bytes=2048), ParsedEmail)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(RAWS),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=8)), max_size=6),
    st.floats(0, 1),
)
def test_mutated_corpus(raw: bytes, edits: list[tuple[float, bytes]], keep: float) -> None:
    mutated = bytearray(raw[: max(1, int(len(raw) * keep))])
    for where, data in edits:
        at = int(where * len(mutated))
        mutated[at : at + len(data)] = data
    parsed = parse_email(bytes(mutated), max_bytes=1 << 20)
    assert isinstance(parsed.reply_text, str)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('=?<>@:;"\\ \n-aZ09ñ\x00\r\t'), max_size=300))
def test_header_shaped_text(text: str) -> None:
    raw = f"From: {text}\nTo: {text}\nSubject: {text}\nDate: {text}\nReferences: {text}\n\n{text}"
    assert isinstance(
        parse_email(raw.encode("utf-8", "surrogatepass"), max_bytes=1 << 20), ParsedEmail
    )


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("<>/=\"'&;#ab pli-:\n"), max_size=400) | st.text(max_size=200)
)
def test_text_helpers(text: str) -> None:
    assert isinstance(html_to_text(text), str)
    reply = strip_quoted(text)
    assert len(reply) <= len(text)
