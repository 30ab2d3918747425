"""Telling Spanish from English in short guest messages, without a dependency.

Scored evidence, not a statistical model: words only one of the two languages
uses, Spanish punctuation and letters (``¿ ¡ ñ á é í ó ú``), English
contractions and a few word endings. Good enough for "¿Tienen parking?" versus
"Is parking free?"; other languages are accepted as candidates but have no
evidence of their own, so they are never detected, only defaulted to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

__all__ = ["detect_language", "guess_language"]


def _word_set(block: str) -> frozenset[str]:
    """The whitespace-separated words of *block*, so long word lists stay readable."""
    return frozenset(block.split())


# Each list holds only words the other language does not also use ("no", "me",
# "a", "son", "once" are in neither). Spanish words are listed without accents:
# guests often leave them out, and an accent is scored on its own.
_SPANISH_WORDS: Final = _word_set(
    """
    de la que el en y o los las del se por un una uno unos unas para con sin al lo le les
    como mas pero sus su ya este esta esto estos estas ese esa eso esos esas porque entre
    cuando muy sobre tambien hasta hay donde quien desde todo todos nos ni mi mis tu tus te
    ti yo ella ellos nosotros usted ustedes algo alguna algun algunos nada mucho mucha
    es soy somos eres estoy estamos estan estais sois fue ser estar tengo tiene tienen
    tenemos tienes teneis puedo puede pueden podemos puedes podeis podria podrian quiero
    quisiera queremos quisieramos necesito necesitamos seria sera hacer hace saber hola
    gracias buenos buenas buen dia dias tardes noche noches favor porfa vale perfecto
    genial claro si bueno adios saludos hora horas horario desayuno cena comida almuerzo
    habitacion habitaciones cuarto cama camas bano toalla toallas piscina llave llaves
    contrasena clave gratis gratuito gratuita incluido incluida incluye precio cuesta cuanto
    cuanta cuantos cuantas cual aparcamiento estacionamiento coche carro mascota mascotas
    perro perros perrito gato gatos aeropuerto traslado recogida llegada llegamos llegar
    llegaremos salida salir entrada tarde temprano manana hoy ayer ahora reserva reservar
    reservado nino ninos adultos personas persona aqui alli cerca lejos playa calle ciudad
    centro estacion tren autobus recepcion piso ascensor aire acondicionado agua caliente
    limpieza sabanas almohada cuna senor senora vez bien mejor tardio tardia pronto pagar
    tarjeta efectivo factura cancelar cambiar fecha semana despues antes luego todavia
    """
)
_ENGLISH_WORDS: Final = _word_set(
    """
    the an is are am was were be been do does did have has had you your we our us i my it
    its this that these those there here what when where how which who why can could would
    will should may might must of to for with at on in from by about into and or but not if
    then than so just also any some all more other only very too out up off after they
    them their she her his him please pls plz thanks thank thx hi hello hey good morning
    afternoon evening night nights tonight tomorrow today yesterday time free room rooms
    breakfast dinner lunch pool towel towels pet pets dog dogs cat cats airport shuttle
    pickup pick password car reservation book booked bed beds bathroom key keys arrive
    arriving arrival leave leaving cost costs price included include need want get like
    know tell yes sure great fine kids children adults people nearby near far beach
    street city center centre station train floor elevator lift water hot cold noise
    cleaning sheets pillow crib cot week weekend many much bring allowed allow possible
    available still dont cant wont didnt doesnt isnt im ive whats thats theres
    """
)
# English words Spanish-speaking guests write as they are: evidence of nothing.
_LOANWORDS: Final = _word_set(
    """
    wifi parking booking camping shopping living catering smoking check checkin checkout
    late early ok okay spa gym jacuzzi minibar transfer tour ticket buffet brunch cafe
    whatsapp email mail online suite twin king queen size tv
    """
)
_LOAN_PHRASE: Final = re.compile(
    r"\b(?:room\s+service|check[\s-]*(?:in|out)|wi[\s-]*fi|happy\s+hour|all[\s-]+inclusive)\b"
)
_WORD: Final = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_CONTRACTION: Final = re.compile(r"'(?:s|t|m|re|ve|ll|d)$")
_SPANISH_ENDINGS: Final = ("cion", "ciones", "mente", "ando", "iendo", "amos", "emos", "imos")
_ENGLISH_ENDINGS: Final = ("tion", "tions", "ing", "ness", "ly")
_ENGLISH_BEGINNINGS: Final = ("th", "wh")

_INVERTED_MARKS: Final = 3.0
_CONTRACTION_WEIGHT: Final = 2.0
_ENYE_WEIGHT: Final = 2.0
_ACCENT_WEIGHT: Final = 1.0
_WORD_WEIGHT: Final = 1.0
_AFFIX_WEIGHT: Final = 0.5


def guess_language(text: str, candidates: Sequence[str] = ("es", "en")) -> str | None:
    """The candidate *text* is most likely written in, or None when there is no sign.

    None also when the evidence is tied. Only ``es`` and ``en`` have evidence;
    any other candidate is never returned. Deterministic.
    """
    scores = {
        language: score for language, score in _scores(text).items() if language in candidates
    }
    best = max(scores.values(), default=0.0)
    winners = [language for language, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def detect_language(
    text: str, *, candidates: Sequence[str] = ("es", "en"), default: str = "en"
) -> str:
    """The candidate *text* is most likely written in; *default* when it cannot be told."""
    return guess_language(text, candidates) or default


def _scores(text: str) -> dict[str, float]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    spanish = _INVERTED_MARKS if ("¿" in folded or "¡" in folded) else 0.0
    english = 0.0
    for word in _WORD.findall(_LOAN_PHRASE.sub(" ", folded)):
        bare = _strip_accents(word)
        if bare in _LOANWORDS:
            continue
        if "ñ" in word:
            spanish += _ENYE_WEIGHT
        elif any(letter in "áéíóúü" for letter in word):
            spanish += _ACCENT_WEIGHT
        if bare in _SPANISH_WORDS:
            spanish += _WORD_WEIGHT
        elif bare in _ENGLISH_WORDS:
            english += _WORD_WEIGHT
        elif _CONTRACTION.search(bare):
            english += _CONTRACTION_WEIGHT
        elif bare.endswith(_SPANISH_ENDINGS):
            spanish += _AFFIX_WEIGHT
        elif bare.endswith(_ENGLISH_ENDINGS) or bare.startswith(_ENGLISH_BEGINNINGS):
            english += _AFFIX_WEIGHT
    return {"es": spanish, "en": english}


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(letter for letter in decomposed if not unicodedata.combining(letter))
