"""The WhatsApp settings form in other languages: each field's label, help and choice labels.

``WhatsAppSettings.translations`` is this table; the model's own titles and
docstrings are the English (and the fallback for anything left out here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from begasist_core import FieldTranslation

__all__ = ["TRANSLATIONS"]

_SPANISH: Final = {
    "phone_number_id": FieldTranslation(
        title="ID del número de teléfono",
        description="El id del número del hotel en la Cloud API; se omiten los cambios de "
        "webhook de otros números.",
    ),
    "waba_id": FieldTranslation(
        title="ID de la cuenta de WhatsApp Business",
        description="La cuenta de WhatsApp Business (WABA) a la que pertenece el número.",
    ),
    "access_token": FieldTranslation(
        title="Token de acceso",
        description="Un token de usuario del sistema con ``whatsapp_business_messaging``: "
        "autoriza las llamadas a la Graph API.",
    ),
    "app_secret": FieldTranslation(
        title="Secreto de la app",
        description="El secreto de la app de Meta: firma el cuerpo de cada webhook "
        "(``X-Hub-Signature-256``). Solo para la URL de webhook propia del hotel; sin "
        "valor en la URL compartida del operador.",
    ),
    "verify_token": FieldTranslation(
        title="Token de verificación",
        description="Lo elige el operador y se escribe en el panel de Meta: demuestra la URL "
        "de callback. Solo para la URL de webhook propia del hotel.",
    ),
    "graph_api_version": FieldTranslation(title="Versión de la Graph API"),
    "graph_api_url": FieldTranslation(
        title="URL de la Graph API",
        description="Dónde responde la Graph API (http o https): la de Meta, o una "
        "sustituta en pruebas y demos.",
    ),
    "transport": FieldTranslation(
        title="Conexión",
        description="``cloud``: la Cloud API de Meta; ``linked``: un dispositivo de WhatsApp "
        "Web vinculado por QR (necesita el extra ``begasist-channels-whatsapp[linked]`` en "
        "el bot).",
        choices={
            "cloud": "Cloud API de Meta",
            "linked": "Dispositivo vinculado por código QR",
        },
    ),
    "linked_device_name": FieldTranslation(
        title="Nombre del dispositivo vinculado",
        description="Conexión vinculada: el nombre con que el teléfono muestra el "
        "dispositivo (Dispositivos vinculados).",
    ),
    "messages_per_second": FieldTranslation(
        title="Mensajes por segundo",
        description="Envíos por segundo para este número: el caudal por defecto de la "
        "Cloud API de Meta.",
    ),
    "per_recipient_interval_seconds": FieldTranslation(
        title="Intervalo por destinatario (segundos)",
        description="Tiempo mínimo entre dos envíos a un mismo huésped; Meta responde 131056 "
        "cuando van demasiado seguidos.",
    ),
    "send_attempts": FieldTranslation(
        title="Intentos de envío",
        description="Intentos por parte del mensaje mientras Meta limita o falla; después, "
        "el sistema lo reintenta más tarde.",
    ),
    "uncertain_send_wait_seconds": FieldTranslation(
        title="Espera tras un envío incierto (segundos)",
        description="Tras una caída durante un envío, cuánto esperar a que el webhook de "
        "estado de Meta diga si la parte en curso se aceptó; sin noticias, se envía de nuevo "
        "(y puede llegar dos veces). Necesita que los webhooks de estado del número lleguen "
        "a Begasist; 0 reenvía enseguida.",
    ),
    "ignore_groups": FieldTranslation(
        title="Ignorar grupos",
        description="Omitir las conversaciones de grupo: el hotel habla con cada huésped a solas.",
    ),
    "message_templates": FieldTranslation(
        title="Plantillas de mensaje",
        description="Las plantillas que Meta aprobó para este número, ofrecidas al personal en "
        "lugar de texto libre cuando se ha cerrado la ventana de 24 horas del huésped: una "
        'lista JSON como ``[{"name": "booking_follow_up", "language": "es", '
        '"body_parameters": 1}]``.',
    ),
}

TRANSLATIONS: Final[Mapping[str, Mapping[str, FieldTranslation]]] = {"es": _SPANISH}
"""Language code -> field -> its text in that language."""
