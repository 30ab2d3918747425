"""Language detection: Spanish or English, on the short messages guests really send."""

from __future__ import annotations

import random

import pytest
from begasist_suite.responders import detect_language
from begasist_suite.responders.language import guess_language

SPANISH = [
    "hola, a qué hora es el desayuno?",
    "¿Tienen parking?",
    "check-out tardío por favor",
    "Buenas noches, ¿cuál es la contraseña del wifi?",
    "Se admiten mascotas? Viajamos con un perro pequeño",
    "Necesito un traslado al aeropuerto mañana a las 6",
    "Hola! Llegamos sobre las 23h, hay alguien en recepción?",
    "Gracias!!",
    "quisiera reservar una habitación doble para el viernes",
    "el aire acondicionado no funciona",
    "Me pueden subir más toallas a la 204?",
    "Perfecto, muchas gracias por todo",
    "A que hora cierra la piscina",
    "Podemos hacer el check in antes de las 12?",
    "cuanto cuesta el parking por noche",
    "El desayuno está incluido?",
    "¿Hay late check out?",
    "Buenos días, queremos cancelar la reserva",
    "hay room service?",
    "CUÁL ES EL HORARIO DEL GIMNASIO",
]
ENGLISH = [
    "what time is breakfast",
    "Is parking free?",
    "wifi password?",
    "Hi, we're arriving around 11pm, is the reception open?",
    "Can I bring my dog?",
    "Do you have an airport shuttle?",
    "Thanks so much!",
    "What\u2019s the wifi code?",
    "Could we get a late checkout tomorrow?",
    "The air conditioning in room 204 isn't working",
    "Is breakfast included in the price?",
    "Hello, how far is the beach from the hotel?",
    "Can we check in early?",
    "Are pets allowed?",
    "Please send more towels to room 312",
    "good morning, where can I park the car",
    "How much is the transfer from the airport?",
    "I'd like to cancel my reservation",
    "How far is Calle del Sol from the hotel?",
    "IS THE POOL HEATED",
]
# Nothing in these says which language they are in: hotel English that Spanish
# speakers use as is, names, numbers, emoji. They get the default.
NO_EVIDENCE = ["ok", "wifi?", "late check out", "parking?", "Hotel Plaza", "taxi 8:00", "👍", ""]


@pytest.mark.parametrize("text", SPANISH)
def test_spanish_messages_are_spanish(text: str) -> None:
    assert detect_language(text) == "es"


@pytest.mark.parametrize("text", ENGLISH)
def test_english_messages_are_english(text: str) -> None:
    assert detect_language(text, default="es") == "en"


@pytest.mark.parametrize("text", NO_EVIDENCE)
@pytest.mark.parametrize("default", ["en", "es"])
def test_without_evidence_the_default_is_returned(text: str, default: str) -> None:
    assert guess_language(text) is None
    assert detect_language(text, default=default) == default


def test_accents_are_optional_and_case_does_not_matter() -> None:
    assert detect_language("A QUE HORA ES EL DESAYUNO") == "es"
    assert detect_language("contraseña") == detect_language("CONTRASEÑA") == "es"


def test_decomposed_accents_count_like_composed_ones() -> None:
    assert detect_language("tardi\u0301o") == detect_language("tardío") == "es"
    assert detect_language("nin\u0303o") == "es"


def test_only_candidates_are_returned() -> None:
    assert detect_language("what time is breakfast", candidates=("es", "fr"), default="fr") == "fr"
    assert detect_language("hola", candidates=("en",), default="de") == "de"


def test_a_tie_is_no_evidence() -> None:
    assert guess_language("hola hello") is None


def test_detection_is_deterministic() -> None:
    results = {detect_language(text) for text in ["¿Tienen parking?"] * 20}
    assert results == {"es"}


def test_random_unicode_never_raises() -> None:
    rng = random.Random(20240613)
    alphabet = [chr(code) for code in range(0x20, 0x3000)] + ["\u0301", "\u00a0", "\n", "'", "-"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert detect_language(text) in {"es", "en"}


def test_the_word_lists_are_disjoint() -> None:
    # A word in two lists is evidence for neither: the lists must say so by omission.
    from begasist_suite.responders import language

    spanish, english, loans = language._SPANISH_WORDS, language._ENGLISH_WORDS, language._LOANWORDS
    assert not spanish & english
    assert not spanish & loans
    assert not english & loans
