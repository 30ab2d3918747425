"""The email settings form in other languages: each field's label, help and choice labels.

``EmailSettings.translations`` is this table; the model's own titles and
docstrings are the English (and the fallback for anything left out here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from begasist_core import FieldTranslation

__all__ = ["TRANSLATIONS"]

_SECURITY: Final = {
    "tls": "TLS desde el primer byte (IMAPS 993, SMTPS 465)",
    "starttls": "STARTTLS: conexión sin cifrar que se cifra antes de iniciar sesión (143, 587)",
}

_SPANISH: Final = {
    "address": FieldTranslation(
        title="Dirección",
        description="La dirección a la que escriben los huéspedes, y el remitente de cada "
        "respuesta.",
    ),
    "display_name": FieldTranslation(
        title="Nombre visible",
        description="Se muestra junto a la dirección en el correo de los huéspedes "
        "(``Hotel Plaza``).",
    ),
    "imap_host": FieldTranslation(title="Servidor IMAP"),
    "imap_port": FieldTranslation(title="Puerto IMAP"),
    "imap_security": FieldTranslation(title="Seguridad IMAP", choices=_SECURITY),
    "imap_user": FieldTranslation(title="Usuario IMAP"),
    "imap_password": FieldTranslation(title="Contraseña IMAP"),
    "inbox_folder": FieldTranslation(
        title="Carpeta de entrada", description="La carpeta donde llega el correo de los huéspedes."
    ),
    "sent_folder": FieldTranslation(
        title="Carpeta de enviados",
        description="Dónde se guarda una copia de cada respuesta (IMAP APPEND); vacía: sin copia.",
    ),
    "smtp_host": FieldTranslation(title="Servidor SMTP"),
    "smtp_port": FieldTranslation(title="Puerto SMTP"),
    "smtp_security": FieldTranslation(title="Seguridad SMTP", choices=_SECURITY),
    "smtp_user": FieldTranslation(title="Usuario SMTP"),
    "smtp_password": FieldTranslation(title="Contraseña SMTP"),
    "tls_ca_pem": FieldTranslation(
        title="Autoridad de certificación adicional (PEM)",
        description="Una autoridad de certificación más en la que confiar (PEM), para "
        "servidores con una CA privada. La verificación sigue activa: añade un ancla de "
        "confianza, nunca desactiva comprobaciones.",
    ),
    "poll_interval_seconds": FieldTranslation(
        title="Intervalo de consulta (segundos)",
        description="Cada cuánto se busca correo nuevo en un servidor sin IDLE.",
    ),
    "idle_renew_seconds": FieldTranslation(
        title="Renovación de IDLE (segundos)",
        description="Cada cuánto se renueva IDLE: los servidores pueden cortarlo a los 30 "
        "minutos (RFC 2177).",
    ),
    "max_message_bytes": FieldTranslation(
        title="Tamaño máximo de mensaje (bytes)",
        description="Los mensajes más grandes se guardan sin procesar, con un error, en vez "
        "de analizarse.",
    ),
    "import_existing_mail": FieldTranslation(
        title="Importar el correo existente",
        description="Al arrancar el canal por primera vez, leer también el correo que ya está "
        "en la bandeja (el asistente puede entonces responder correo antiguo); si no, "
        "empezar por el siguiente.",
    ),
    "new_subject_new_conversation": FieldTranslation(
        title="Asunto nuevo, conversación nueva",
        description="Un correo de un huésped con un asunto nuevo (no una respuesta) abre una "
        "conversación nueva.",
    ),
    "ignore_senders": FieldTranslation(
        title="Remitentes ignorados",
        description="Direcciones o sufijos ``@dominio`` cuyo correo se omite (los sistemas "
        "del propio hotel).",
    ),
}

TRANSLATIONS: Final[Mapping[str, Mapping[str, FieldTranslation]]] = {"es": _SPANISH}
"""Language code -> field -> its text in that language."""
