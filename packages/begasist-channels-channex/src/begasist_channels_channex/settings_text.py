"""The Channex settings form in other languages: each field's label, help and choice labels.

``ChannexSettings.translations`` is this table; the model's own titles and
docstrings are the English (and the fallback for anything left out here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from begasist_core import FieldTranslation

__all__ = ["TRANSLATIONS"]

_SPANISH: Final = {
    "api_key": FieldTranslation(
        title="Clave de API",
        description="Una clave de API de usuario de Channex, enviada en la cabecera "
        "``user-api-key``.",
    ),
    "property_id": FieldTranslation(
        title="ID de la propiedad",
        description="La propiedad (el hotel) de Channex cuyos mensajes recoge este canal.",
    ),
    "environment": FieldTranslation(
        title="Entorno",
        choices={"production": "Producción", "staging": "Pruebas (staging)"},
    ),
    "api_base_url": FieldTranslation(
        title="URL de la API",
        description="Sustituye la raíz de la API del entorno: para un sustituto de Channex en "
        "pruebas y demostraciones.",
    ),
    "webhook_secret": FieldTranslation(
        title="Secreto del webhook",
        description="Channex no firma los webhooks: el hotel pone este valor en la cabecera "
        "``X-Begasist-Webhook-Secret`` de su webhook ``message`` de Channex, y la suite "
        "rechaza toda entrega que no la traiga exacta.",
    ),
    "booking_com": FieldTranslation(
        title="Booking.com", description="Recoger y responder los mensajes de Booking.com."
    ),
    "airbnb": FieldTranslation(
        title="Airbnb", description="Recoger y responder los mensajes de Airbnb."
    ),
    "expedia": FieldTranslation(
        title="Expedia", description="Recoger y responder los mensajes de Expedia."
    ),
    "request_timeout_seconds": FieldTranslation(title="Tiempo de espera por petición (s)"),
    "send_attempts": FieldTranslation(
        title="Intentos de envío",
        description="Intentos por parte de un mensaje ante respuestas 429 y 5xx antes de "
        "reintentarlo más tarde.",
    ),
    "catch_up_interval_seconds": FieldTranslation(
        title="Intervalo de recuperación (segundos)",
        description="Cada cuánto se leen de la API de mensajes de Channex los mensajes de "
        "huéspedes cuyo webhook nunca llegó (0: nunca).",
    ),
    "catch_up_lookback_hours": FieldTranslation(
        title="Ventana inicial de recuperación (horas)",
        description="Hasta cuándo atrás lee la primera recuperación (las siguientes siguen "
        "desde su cursor).",
    ),
}

TRANSLATIONS: Final[Mapping[str, Mapping[str, FieldTranslation]]] = {"es": _SPANISH}
