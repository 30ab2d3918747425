"""The words mail clients write around quoted and forwarded history, in the guests' languages.

Covered: English, Spanish, Portuguese, French, German, Italian, Dutch, Catalan,
Russian, Polish, Swedish, Danish, Norwegian, Chinese (simplified and
traditional), plus Czech, Finnish, Turkish, Greek, Hungarian, Romanian and
Japanese where a client's wording was known. The rules in
:mod:`begasist_channels_email.quotes` do not depend on these lists alone:
a quoted block is also recognised by its shape (``name <address>:`` before
``>`` lines, ``Label: value`` rows holding an address and a date), so a
language missing here is still cut in the common shapes.
"""

from __future__ import annotations

import re

__all__ = [
    "ATTRIBUTION_OPENER",
    "DATE_OPENER",
    "DATE_SHAPE",
    "FIELD_LABELS",
    "FORWARD_PHRASES",
    "FORWARD_SUBJECT",
    "ORIGINAL_PHRASES",
    "WROTE_ENDING",
    "FieldKind",
    "ends_with_wrote",
    "phrase_key",
]

# "wrote" and its kin; an ending may be followed by the writer's name and address
# (Scandinavian "skrev Name <a@b>:", German "schrieb Name:", Dutch "schreef Name:").
_WROTE_LATIN = (
    r"wrote|writes|has written|escribió|escribio|ha escrito|escreveu|escribiu|a écrit|a ecrit"
    r"|écrit|schrieb|schreibt|schreef|heeft geschreven|ha scritto|scrisse|va escriure|ha escrit"
    r"|escriu|написал\(а\)|написал|написала|пишет|napisał\(a\)|napisała|napisał|pisze"  # noqa: RUF001 (Russian)
    r"|skrev|skriver|kirjoitti|napsal\(a\)|napsal|yazdı|έγραψε|írta|a scris"  # noqa: RUF001 (Turkish)
)
_WROTE_CJK = r"写道|寫道|來信|写了|書きました"
WROTE_ENDING = re.compile(
    rf"(?:(?<![^\W\d_])(?:{_WROTE_LATIN})(?![^\W\d_])|{_WROTE_CJK})"
    r"(?:[ \t][^:\uff1a\n]{0,200}?)?\s*[:\uff1a]?\s*$",
    re.IGNORECASE,
)
"""The end of an attribution line: "wrote", optionally a name, optionally a colon.
Search only a line's last :data:`ATTRIBUTION_TAIL` characters (see :func:`ends_with_wrote`)."""

ATTRIBUTION_TAIL = 300


def ends_with_wrote(line: str) -> bool:
    """Whether *line* ends like an attribution; reads only its tail, so long lines stay cheap."""
    return WROTE_ENDING.search(line[-ATTRIBUTION_TAIL:]) is not None


ATTRIBUTION_OPENER = re.compile(
    r"^(?:on|el|em|le|am|il giorno|il|op|den|dne|w dniu|dnia|在|於|于)(?![^\W\d_])",
    re.IGNORECASE,
)
"""How an attribution begins in words: "On", "El", "Le", "Am", "Em", "Il giorno", "Op",
"Den", "W dniu", "在"."""

DATE_OPENER = re.compile(r"^(?:\d|\(?[^\W\d_]{1,4}\.?,?\s+\d)")
"""An attribution that begins straight with a date: "2 jun 2025", "pon., 2 cze", "Mon 2 Jun"."""

DATE_SHAPE = re.compile(
    r"\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b|\d{4}年|\d{1,2}[./-]\d{1,2}[./-]\d{2}"
)
"""A time or a year: what a quoted header's date holds and a guest's "3 de junio" does not."""


_MAX_PHRASE = 120


def phrase_key(text: str) -> str:
    """A line reduced to compare with the phrase lists: no decoration, one space, lower case."""
    if len(text) > _MAX_PHRASE:
        return ""  # no separator is that long
    bare = text.strip().lstrip(" \t\xa0-_=*~<>").rstrip(" \t\xa0-_=*~<>:\uff1a")
    return " ".join(bare.split()).casefold()


ORIGINAL_PHRASES = frozenset(
    phrase_key(phrase)
    for phrase in (
        "Original Message", "Original message", "Mensaje original", "Mensagem original",
        "Message d'origine", "Message original", "Ursprüngliche Nachricht",
        "Originalnachricht", "Messaggio originale", "Oorspronkelijk bericht",
        "Origineel bericht", "Missatge original", "Исходное сообщение",
        "Оригинальное сообщение", "Oryginalna wiadomość", "Wiadomość oryginalna",
        "Ursprungligt meddelande", "Originalmeddelande", "Oprindelig meddelelse",
        "Opprinnelig melding", "Original melding", "原始邮件", "原始郵件", "原邮件",
        "Původní zpráva", "Alkuperäinen viesti", "Orijinal mesaj", "Αρχικό μήνυμα",
        "Eredeti üzenet", "Mesaj original",
    )
)  # fmt: skip
"""Separators before a quoted message ("-----Original Message-----" and its translations)."""

FORWARD_PHRASES = frozenset(
    phrase_key(phrase)
    for phrase in (
        "Forwarded message", "Forwarded Message", "Begin forwarded message",
        "Forwarded mail", "Forwarded e-mail", "Mensaje reenviado",
        "Comienzo del mensaje reenviado", "Inicio del mensaje reenviado",
        "Mensagem encaminhada", "Mensagem reencaminhada",
        "Início da mensagem reencaminhada", "Início da mensagem encaminhada",
        "Message transféré", "Début du message transféré", "Début du message réexpédié",
        "Message réexpédié", "Weitergeleitete Nachricht",
        "Anfang der weitergeleiteten Nachricht", "Weitergeleitete E-Mail",
        "Messaggio inoltrato", "Inizio messaggio inoltrato", "Doorgestuurd bericht",
        "Begin doorgestuurd bericht", "Doorgestuurde e-mail", "Missatge reenviat",
        "Inici del missatge reenviat", "Пересылаемое сообщение",
        "Пересланное сообщение", "Начало переадресованного сообщения",
        "Przekazana wiadomość", "Wiadomość przekazana",
        "Początek przekazywanej wiadomości", "Vidarebefordrat meddelande",
        "Vidarebefordrat brev", "Vidarebefordrat mejl",
        "Början på vidarebefordrat meddelande", "Videresendt meddelelse",
        "Videresendt besked", "Start på videresendt besked", "Videresendt melding",
        "Start på videresendt melding", "Videresendt e-post", "转发的邮件",
        "转发邮件", "轉寄的郵件", "轉寄郵件", "Přeposlaná zpráva",
        "Välitetty viesti", "İletilen mesaj", "Προωθημένο μήνυμα",
        "Továbbított üzenet", "Mesaj redirecționat",
    )
)  # fmt: skip
"""Separators that open a forwarded message: its content is kept, not cut."""

FORWARD_SUBJECT = re.compile(
    r"^\s*(?:fwd?|fw|rv|tr|wg|i|enc|doorst|vs|vb|vl|vid|videresend|pd|pdf|přep|пересл"
    r"|fwd?\[\d+\]|转发|轉寄|轉發|rif)\s*[:\uff1a]",
    re.IGNORECASE,
)
"""Subjects of forwarded mail: Fwd:, FW:, RV: (es), TR: (fr), WG: (de), I: (it), ENC: (pt),
Doorst: (nl), VS:/VB: (sv, da, no), PD: (pl), Пересл: (ru), 转发: (zh)."""


class FieldKind:
    """Kinds of quoted-header fields (plain strings, to keep the table below readable)."""

    FROM = "from"
    SENT = "sent"
    """A mail's own word for its date ("Sent:", "Enviado:", "Gesendet:"): only headers say it."""
    DATE = "date"
    """A plain "Date:", which a guest's travel details may hold too."""
    TO = "to"
    CC = "cc"
    SUBJECT = "subject"
    OTHER = "other"


_FIELDS: dict[str, tuple[str, ...]] = {
    FieldKind.FROM: (
        "from", "de", "von", "da", "van", "fra", "från", "от", "od", "kimden", "lähettäjä",
        "feladó", "από", "afzender", "remitente", "expéditeur", "absender", "mittente",
        "发件人", "寄件者", "發件人", "寄件人", "差出人", "de la",
    ),
    FieldKind.SENT: (
        "sent", "enviado", "enviado el", "enviado em", "envoyé", "envoyé le",
        "date d'envoi", "gesendet", "inviato", "verzonden", "verstuurd", "enviat",
        "enviat el", "tramès", "отправлено", "wysłano", "wysłane", "skickat", "sendt",
        "odesláno", "lähetetty", "gönderildi", "στάλθηκε", "elküldve", "trimis",
        "发送时间", "发送日期", "寄件日期", "傳送時間", "送信日時",
    ),
    FieldKind.DATE: (
        "date", "fecha", "data", "datum", "dato", "дата", "tarih", "dátum", "日期", "時間",
    ),
    FieldKind.TO: (
        "to", "para", "à", "a", "an", "aan", "til", "till", "кому", "do", "kime",
        "vastaanottaja", "címzett", "προς", "către", "收件人", "收件者", "宛先",
    ),
    FieldKind.CC: ("cc", "cco", "bcc", "kopie", "kopia", "копия", "kopi", "抄送", "副本"),
    FieldKind.SUBJECT: (
        "subject", "asunto", "assunto", "objet", "betreff", "oggetto", "onderwerp",
        "assumpte", "тема", "temat", "ämne", "emne", "předmět", "aihe", "konu", "θέμα",
        "tárgy", "subiect", "主题", "主旨", "標題", "主題", "件名",
    ),
    FieldKind.OTHER: (
        "reply-to", "responder a", "répondre à", "antwort an", "importance", "importancia",
        "priority", "prioridad", "organization", "organización", "attachments", "adjuntos",
        "anhänge", "pièces jointes", "allegati", "bijlagen", "anexos", "вложения",
    ),
}  # fmt: skip

FIELD_LABELS: dict[str, str] = {
    label.casefold(): kind for kind, labels in _FIELDS.items() for label in labels
}
"""Quoted-header labels, lower case, to their kind."""
