"""Quoted history and signatures are cut; what the guest wrote stays."""

from __future__ import annotations

import time

import pytest
from begasist_channels_email.quotes import MAX_ANALYSED_CHARS, split_reply, strip_quoted


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


@pytest.mark.parametrize(
    "body",
    [
        "Ok.\n\nΣτις Δευ 2 Ιουν 2025 στις 9:00 π.μ., ο/η Hotel <r@h.es> έγραψε:\n\n> x\n",  # noqa: RUF001
        "Ok.\n\nma 2.6.2025 klo 9.00 Hotel Plaza (reservas@hotelplaza.es) kirjoitti:\n\n> x\n",
        "Ok.\n\nPe lun., 2 iun. 2025 la 09:00, Hotel Plaza <r@h.es> a scris:\n\n> x\n",
        "Ok.\n\nفي الاثنين، 2 يونيو 2025 في 9:00 ص تمت كتابة ما يلي بواسطة Hotel <r@h.es>:\n\n> x",
        "Ok.\n\nNuo: Hotel Plaza\nIšsiųsta: 2025 m. birželio 2 d. 9:00\nKam: Jonas\n"
        "Tema: RE: Rezervacija\n\nx\n",
        "Ok. On 2 Jun 2025, at 09:00, Hotel <r@h.es> wrote:\nx\n",
        'Ok.\n\n-----"Hotel Plaza" <r@h.es> wrote: -----\n\nx\n',
        'Ok.\n\nGesendet: Montag, 02. Juni 2025 um 09:00 Uhr\nVon: "Hotel" <r@h.es>\n'
        "An: a@x.de\n\nx",
        "Ok.\n\nПонедельник, 2 июня 2025, 9:00 +03:00 от Hotel Plaza <r@h.es>:\n\n> x\n",  # noqa: RUF001
        'Ok.\n\n------------------ Original ------------------\nFrom: "Hotel" <r@h.es>\n'
        "Date: Mon, Jun 2, 2025 09:00 AM\nTo: a@x.cn\n\nx",
        "Ok.\n\n差出人: Hotel Plaza\n送信日時: 2025年6月2日 9:00\n宛先: Ana\n件名: RE: 予約\n\nx",
        "Ok.\n\nOn Mon, Jun 2, 2025 at 9:00 AM Hotel <r@h.es> wrote:\n\n> x\n>\n"
        "> On Sun, Jun 1, 2025 Ana wrote:\n>> y\n",
    ],
)
def test_languages_and_clients_not_listed_are_cut_by_shape(body: str) -> None:
    assert strip_quoted(body) == "Ok."


def test_an_attribution_after_a_chinese_full_stop_is_cut() -> None:
    body = "好的。在 2025年6月2日 09:00\uff0cHotel <r@h.es> 写道\uff1a\n> x"
    assert strip_quoted(body) == "好的。"


@pytest.mark.parametrize(
    "body",
    [
        "Hi,\n\nFrom Monday to Friday we will be out.\nTo be sure, call me.",
        "Llegada: 12/06/2025 14:00\nSalida: 15/06/2025\nContacto: ana@x.com\n\n¿OK?",
        "Note: we arrive late.\nTime: 23:30\nFlight: IB: 3170",
        "My booking:\nFrom: 12 June 2025\nTo: 15 June 2025\nRoom: double",
        "On Friday my wife wrote to you about parking, any news?",
        "Our train:\nDate: 12/06/2025 14:00\nFrom: Madrid\nTo: Barcelona\n\nCan you pick us up?",
        "We booked on 2 June 2025 at 10:00. My husband wrote:\n> the room was cold\nPlease help.",
        "Menu ideas\n______________________________\nP.S. We are vegetarian.",
    ],
)
def test_a_guests_own_lines_shaped_like_headers_are_kept(body: str) -> None:
    assert strip_quoted(body) == body


def test_a_forward_is_kept_apart_and_a_quote_is_not() -> None:
    body = "FYI\n\n---------- Forwarded message ---------\nFrom: A <a@b.es>\n\nBooking 1"
    reply = split_reply(body)
    assert (reply.text, reply.forwarded) == (
        "FYI",
        "---------- Forwarded message ---------\nFrom: A <a@b.es>\n\nBooking 1",
    )
    outlook = "FYI\n\nFrom: A <a@b.es>\nSent: Monday, 2 June 2025 9:00\nSubject: Booking\n\nx"
    assert split_reply(outlook).forwarded is None
    assert split_reply(outlook, subject="FW: Booking").forwarded == (
        "---------- Forwarded message ----------\n" + outlook.removeprefix("FYI\n\n")
    )


def test_pathological_bodies_are_read_only_up_to_a_bound() -> None:
    body = ("x wrote: " * 20 + "\n") * 30000
    assert len(strip_quoted(body)) <= MAX_ANALYSED_CHARS


@pytest.mark.parametrize(
    "body",
    [
        "\n\nFrom: Hotel <r@h.es>\nSent: Monday, 2 June 2025 9:00\nTo: Ana\nSubject: Room\n\n"
        "Your room is ready.\nHotel Plaza",
        "\n-----Original Message-----\nFrom: Hotel\nSent: Monday\n\nYour room is ready.",
    ],
)
def test_a_quoted_message_with_nothing_written_above_it_is_not_taken_for_a_reply(
    body: str,
) -> None:
    assert strip_quoted(body) == ""


@pytest.mark.parametrize(
    "body",
    [
        "Sure.\n\nQuoting Hotel Plaza <r@h.es>:\n\n> body",
        "Sure.\n\nZitat von Hotel Plaza <r@h.es>:\n\n> body",
        "Sure.\n\n---- On Mon, 02 Jun 2025 09:00:00 +0200 Hotel <r@h.es> wrote ----\n\nbody",
        "Sure.\n\nFrom: Hotel <r@h.es>\nDate: Monday, 2 June 2025 at 09:00\nTo: Ana <a@x.com>\n"
        "Subject: Re: x\n\nbody",
        "Sure.\n\nEl 2/6/2025 a las 9:00, Hotel Plaza escribió:\n\nbody without quote marks",
        "Sure.\n\nSent from my Galaxy\n\n> 2 june 2025 09:00 Hotel <r@h.es>:\n> body",
        "Sure.\n\nWysłane z mojego Huawei\n\n> body",
    ],
)
def test_more_client_shapes_are_cut(body: str) -> None:
    assert strip_quoted(body) == "Sure."
