"""Quoted history and signatures are cut; what the guest wrote stays."""

from __future__ import annotations

import time

import pytest
from begasist_channels_email.quotes import strip_quoted


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        (
            "Sí, gracias.\n\nEl lun, 2 jun 2025 a las 9:00, Hotel <a@b.es> escribió:\n> hola",
            "Sí, gracias.",
        ),
        ("Yes.\n\nOn Mon, Jun 2, 2025 at 9:00 AM Hotel <\na@b.es> wrote:\n> hi", "Yes."),
        ("Vale.\n\n-----Mensaje original-----\nDe: Hotel\nEnviado: lunes\n\nhola", "Vale."),
        ("OK.\n\n-----Original Message-----\nFrom: Hotel\nSent: Monday\n\nhi", "OK."),
        (
            "Bien.\n\nDe: Hotel <a@b.es>\nEnviado: lunes, 2 de junio\nPara: Ana\nAsunto: R\n\nx",
            "Bien.",
        ),
        ("Fine.\n\n*From:* Hotel\n*Sent:* Monday\n*Subject:* Re: x\n\nx", "Fine."),
        (
            "Claro\n\nEnviado desde mi iPhone\n\n> El 2 jun 2025, a las 9:00, Hotel escribió:\n> x",
            "Claro",
        ),
        ("Sure\n\nSent from my iPhone", "Sure"),
        ("Sure\n\nGet Outlook for Android", "Sure"),
        ("Llegamos:\n- 2 adultos\n- 1 niño\n\nUn saludo,\nAna", "Llegamos:\n- 2 adultos\n- 1 niño"),
        ("See you then.\n\n-- \nAnn Lee\nACME", "See you then."),
        (
            "Thanks, and could you book a taxi?\nAt 9am.",
            "Thanks, and could you book a taxi?\nAt 9am.",
        ),
        ("Gracias,\nMaría", "Gracias,\nMaría"),
        (
            "> quoted first\n> more\n\nMy answer below.",
            "> quoted first\n> more\n\nMy answer below.",
        ),
        ("On Mon, Hotel wrote:\n> a\n> b\n\nBottom posted.\n\n-- \nX", "Bottom posted."),
    ],
)
def test_strip_quoted(body: str, reply: str) -> None:
    assert strip_quoted(body) == reply


def test_a_guests_own_field_list_is_not_a_quoted_header() -> None:
    body = "Datos del viaje:\nDe: Madrid\nPara: 2 personas\nFecha: 3 de junio\n\n¿Hay plazas?"
    assert strip_quoted(body) == body


def test_thanks_in_the_middle_is_not_a_signature() -> None:
    body = (
        "Hello,\n\nThanks,\nwe also need a cot, a late check-out, two parking spaces,\n"
        "and a taxi.\n\nA\nB\nC\nD"
    )
    assert strip_quoted(body) == body


@pytest.mark.parametrize(
    "body",
    [
        "a" + " \n" * 20000 + "x",
        "Hola\n" + ("-" * 40 + "\n") * 3000,
        "> x\ny\n" * 5000,
        "Thanks,\n" * 5000,
    ],
)
def test_hostile_bodies_stay_fast(body: str) -> None:
    started = time.perf_counter()
    strip_quoted(body)
    assert time.perf_counter() - started < 1.0


def test_a_question_after_a_closing_word_is_not_a_signature() -> None:
    body = "Llegamos a las 22:00.\nGracias\n¿Pueden guardarnos la cena?"
    assert strip_quoted(body) == body
    assert strip_quoted("Llegamos a las 22:00.\nThanks,\nAna") == "Llegamos a las 22:00."
