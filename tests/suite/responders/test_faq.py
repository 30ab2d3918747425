"""The FAQ responder: keyword matching, answer language, holding replies."""

from __future__ import annotations

import random

import pytest
from begasist_core import (
    Attachment,
    AttachmentKind,
    Direction,
    FaqEntry,
    GuestIdentity,
    Message,
    ReplyDraft,
    ReplyRequest,
)
from begasist_suite.responders import FaqResponder
from begasist_suite.responders.faq import BUILTIN_FALLBACK, FALLBACK_CONFIDENCE
from pydantic import ValidationError

pytestmark = pytest.mark.anyio

FAQ = (
    FaqEntry(
        intent="breakfast",
        keywords={"en": ("breakfast",), "es": ("desayuno", "desayunar")},
        answers={"en": "Breakfast is 7:00-10:30.", "es": "El desayuno es de 7:00 a 10:30."},
    ),
    FaqEntry(
        intent="wifi",
        keywords={"en": ("wifi", "password", "internet"), "es": ("wifi", "contraseña", "clave")},
        answers={
            "en": "Wifi: Plaza-Guests, password sol2024.",
            "es": "Wifi: Plaza-Guests, clave sol2024.",
        },
    ),
    FaqEntry(
        intent="parking",
        keywords={"en": ("parking", "park", "car"), "es": ("parking", "aparcamiento", "coche")},
        answers={"en": "Parking is 15 EUR a night.", "es": "El parking cuesta 15 EUR por noche."},
    ),
    FaqEntry(
        intent="check-in",
        keywords={"en": ("check in", "arrive"), "es": ("check in", "entrada", "llegada")},
        answers={"en": "Check-in is from 15:00.", "es": "El check-in es a partir de las 15:00."},
    ),
    FaqEntry(
        intent="check-out",
        keywords={"en": ("check out",), "es": ("check out", "salida")},
        answers={"en": "Check-out is until 12:00.", "es": "El check-out es hasta las 12:00."},
    ),
    FaqEntry(
        intent="late-checkout",
        keywords={"en": ("late check out",), "es": ("salida tardía", "check out tardío")},
        answers={
            "en": "Late check-out until 14:00 is 20 EUR.",
            "es": "Salida hasta las 14:00: 20 EUR.",
        },
    ),
    FaqEntry(
        intent="pets",
        keywords={"en": ("pet", "dog", "cat"), "es": ("mascota", "perro", "gato")},
        answers={
            "en": "Pets are welcome (10 EUR a night).",
            "es": "Se admiten mascotas (10 EUR/noche).",
        },
    ),
    FaqEntry(
        intent="airport-transfer",
        keywords={"en": ("airport", "shuttle"), "es": ("aeropuerto", "traslado")},
        answers={"en": "Airport transfer: 35 EUR, book at reception.", "es": "Traslado: 35 EUR."},
    ),
)
ANSWERS = {entry.intent: entry.answers for entry in FAQ}


def message(text: str, direction: Direction = Direction.INBOUND, **fields: object) -> Message:
    return Message.model_validate(
        {
            "hotel": "plaza",
            "channel": "whatsapp",
            "conversation_key": "+34600000000",
            "direction": direction,
            "guest": GuestIdentity(channel="whatsapp", address="+34600000000"),
            "text": text,
            **fields,
        }
    )


def request(text: str, **fields: object) -> ReplyRequest:
    return ReplyRequest.model_validate({"message": message(text), "faq": FAQ, **fields})


async def reply(text: str, **fields: object) -> ReplyDraft:
    draft = await FaqResponder().draft(request(text, **fields))
    assert draft is not None
    return draft


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("What time is breakfast?", "breakfast", "en"),
        ("hola, a qué hora es el desayuno?", "breakfast", "es"),
        ("A que hora se puede desayunar", "breakfast", "es"),
        ("wifi password?", "wifi", "en"),
        ("¿Cuál es la contraseña del wi-fi?", "wifi", "es"),
        ("cual es la contrasena", "wifi", "es"),
        ("Is parking free?", "parking", "en"),
        ("¿Tienen aparcamiento?", "parking", "es"),
        ("Where can I park?", "parking", "en"),
        ("What time can we check in?", "check-in", "en"),
        ("A qué hora es el check-in?", "check-in", "es"),
        ("checkin time please", "check-in", "en"),
        ("When is check-out?", "check-out", "en"),
        ("¿A qué hora es la salida?", "check-out", "es"),
        ("Can we have a late check-out?", "late-checkout", "en"),
        ("check-out tardío por favor", "late-checkout", "es"),
        ("Are pets allowed?", "pets", "en"),
        ("Viajamos con nuestro perro, ¿hay problema?", "pets", "es"),
        ("¿Se admiten mascotas?", "pets", "es"),
        ("Do you have an airport shuttle?", "airport-transfer", "en"),
        ("Necesitamos un traslado al aeropuerto", "airport-transfer", "es"),
    ],
)
async def test_a_question_gets_its_answer_in_the_guest_language(
    text: str, intent: str, language: str
) -> None:
    draft = await reply(text)
    assert draft.text == ANSWERS[intent][language]
    assert draft.responder == "faq"
    assert draft.confidence is not None
    assert FALLBACK_CONFIDENCE < draft.confidence <= 1.0


@pytest.mark.parametrize(
    "text", ["I have a petition about the bill", "my carpet is wet", "the catalogue please"]
)
async def test_a_keyword_inside_another_word_does_not_match(text: str) -> None:
    draft = await reply(text)
    assert draft.text == BUILTIN_FALLBACK["en"]
    assert draft.confidence == FALLBACK_CONFIDENCE


async def test_plurals_match_their_singular_keyword() -> None:
    assert (await reply("Do you accept dogs?")).text == ANSWERS["pets"]["en"]
    assert (await reply("¿Aceptan perros?")).text == ANSWERS["pets"]["es"]


async def test_accents_and_case_do_not_matter_on_either_side() -> None:
    assert (await reply("CONTRASEÑA??")).text == ANSWERS["wifi"]["es"]
    assert (await reply("salida tardia")).text == ANSWERS["late-checkout"]["es"]


async def test_the_best_entry_wins_and_confidence_reflects_the_contest() -> None:
    late = await reply("Is a late check out possible?")
    plain = await reply("When is check out?")
    assert late.text == ANSWERS["late-checkout"]["en"]
    assert plain.text == ANSWERS["check-out"]["en"]
    # Two questions in one message: one answer, and less sure of it.
    both = await reply("What time is breakfast, and is parking free?")
    single = await reply("What time is breakfast?")
    assert both.text == ANSWERS["breakfast"]["en"]
    assert both.confidence is not None
    assert single.confidence is not None
    assert both.confidence < single.confidence


async def test_a_keyword_inside_the_winning_phrase_is_no_rival() -> None:
    late = await reply("Can we have a late check-out?")
    plain = await reply("When is check out?")
    assert late.confidence is not None
    assert plain.confidence is not None
    assert late.confidence >= plain.confidence


async def test_on_a_tie_the_earlier_entry_wins_with_little_confidence() -> None:
    tie = await reply("breakfast in the car?")
    alone = await reply("breakfast?")
    assert tie.text == alone.text == ANSWERS["breakfast"]["en"]
    assert tie.confidence is not None
    assert alone.confidence is not None
    assert tie.confidence < alone.confidence


async def test_a_keyword_two_entries_share_is_a_tie() -> None:
    rooftop = FaqEntry(intent="rooftop", keywords={"en": ("pool",)}, answers={"en": "Rooftop."})
    indoor = FaqEntry(intent="indoor", keywords={"en": ("pool",)}, answers={"en": "Indoor."})
    draft = await FaqResponder().draft(
        ReplyRequest(message=message("Is the pool open?"), faq=(rooftop, indoor))
    )
    assert draft is not None
    assert draft.text == "Rooftop."
    assert draft.confidence is not None
    assert draft.confidence <= 0.5


async def test_a_long_message_is_answered_with_less_confidence() -> None:
    short = await reply("Are pets allowed?")
    long = await reply(
        "Hello! We are a family of four arriving next Friday from Madrid by train, "
        "staying for a week to visit the old town and the museums. Are pets allowed?"
    )
    assert long.text == short.text
    assert short.confidence is not None
    assert long.confidence is not None
    assert long.confidence < short.confidence


async def test_without_a_match_the_hotel_fallback_is_in_the_guest_language() -> None:
    fallback = {"es": "Enseguida te atiende Marta.", "en": "Marta will be with you shortly."}
    spanish = await reply("¿Se puede pagar con tarjeta?", fallback=fallback)
    english = await reply("Can I pay by card?", fallback=fallback)
    assert (spanish.text, english.text) == (fallback["es"], fallback["en"])
    assert spanish.confidence == english.confidence == FALLBACK_CONFIDENCE


async def test_without_a_configured_fallback_the_builtin_one_is_used() -> None:
    assert (await reply("¿Se puede pagar con tarjeta?")).text == BUILTIN_FALLBACK["es"]
    assert (await reply("Can I pay by card?")).text == BUILTIN_FALLBACK["en"]


async def test_a_fallback_missing_the_guest_language_uses_the_default_language() -> None:
    draft = await reply(
        "¿Se puede pagar con tarjeta?",
        fallback={"en": "Someone will answer.", "fr": "Quelqu'un va répondre."},
        default_language="fr",
    )
    assert draft.text == "Quelqu'un va répondre."


async def test_media_without_text_gets_the_fallback() -> None:
    photo = Attachment(kind=AttachmentKind.IMAGE, mime_type="image/jpeg")
    draft = await FaqResponder().draft(
        ReplyRequest(message=message("", attachments=(photo,)), faq=FAQ, default_language="es")
    )
    assert draft is not None
    assert (draft.text, draft.confidence) == (BUILTIN_FALLBACK["es"], FALLBACK_CONFIDENCE)


async def test_a_caption_is_read_like_text() -> None:
    photo = Attachment(kind=AttachmentKind.IMAGE, caption="¿Se admiten perros como este?")
    draft = await FaqResponder().draft(
        ReplyRequest(message=message("", attachments=(photo,)), faq=FAQ)
    )
    assert draft is not None
    assert draft.text == ANSWERS["pets"]["es"]


async def test_an_empty_faq_gives_the_fallback() -> None:
    draft = await FaqResponder().draft(ReplyRequest(message=message("What time is breakfast?")))
    assert draft is not None
    assert draft.text == BUILTIN_FALLBACK["en"]


async def test_the_answer_falls_back_to_the_default_then_to_any_language() -> None:
    only_spanish = FaqEntry(
        intent="spa", keywords={"en": ("spa",)}, answers={"es": "El spa abre a las 9."}
    )
    english_and_german = FaqEntry(
        intent="spa", keywords={"en": ("spa",)}, answers={"de": "Spa ab 9 Uhr.", "en": "Spa at 9."}
    )
    guest = message("When does the spa open?")
    first = await FaqResponder().draft(ReplyRequest(message=guest, faq=(only_spanish,)))
    english = await FaqResponder().draft(
        ReplyRequest(message=guest, faq=(english_and_german,), default_language="de")
    )
    german = await FaqResponder().draft(
        ReplyRequest(message=message("¿spa?"), faq=(english_and_german,), default_language="de")
    )
    assert first is not None
    assert english is not None
    assert german is not None
    assert (first.text, english.text, german.text) == (
        "El spa abre a las 9.",
        "Spa at 9.",
        "Spa ab 9 Uhr.",
    )


async def test_history_sets_the_language_when_the_message_does_not() -> None:
    history = (
        message("Hola, buenas tardes"),
        message("Hello! How can we help?", direction=Direction.OUTBOUND),
    )
    draft = await reply("wifi?", history=history)
    assert draft.text == ANSWERS["wifi"]["es"]
    assert (await reply("wifi?")).text == ANSWERS["wifi"]["en"]


async def test_history_does_not_change_the_match() -> None:
    history = tuple(message(text) for text in ["Do you allow pets?", "And parking?"])
    draft = await reply("What time is breakfast?", history=history)
    assert draft.text == ANSWERS["breakfast"]["en"]


async def test_the_draft_is_a_valid_reply_draft() -> None:
    draft = await reply("What time is breakfast?")
    assert ReplyDraft.model_validate(draft.model_dump()) == draft


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"intent": "Breakfast"}, id="intent-not-a-slug"),
        pytest.param({"answers": {}}, id="no-answer"),
        pytest.param({"answers": {"en": "  \n"}}, id="blank-answer"),
        pytest.param({"answers": {"EN": "Hi."}}, id="language-not-lowercase"),
        pytest.param({"keywords": {"en": ("¿?",)}}, id="keyword-without-a-word"),
        pytest.param({"hours": "7-10"}, id="extra-field"),
    ],
)
def test_the_faq_contract_refuses_what_cannot_be_answered(entry: dict[str, object]) -> None:
    valid: dict[str, object] = {
        "intent": "spa",
        "keywords": {"en": ("spa",)},
        "answers": {"en": "9."},
    }
    with pytest.raises(ValidationError):
        FaqEntry.model_validate({**valid, **entry})


def test_intents_are_unique_within_a_request() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        ReplyRequest(message=message("hi"), faq=(FAQ[0], FAQ[0]))


async def test_random_unicode_never_raises() -> None:
    rng = random.Random(7)
    alphabet = [chr(code) for code in range(0x20, 0x3000)] + list("¿¡ñ \n-'")
    responder = FaqResponder()
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        draft = await responder.draft(request(text))
        assert draft is not None
        assert 0.0 <= (draft.confidence or 0.0) <= 1.0
