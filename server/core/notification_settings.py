"""The settings of the notifications (config.yaml ``notifications:``), apart from
server/core/notifications.py so that loading the configuration (server/core/config.py, every
``queuekiosk`` command) does not import the models and SQLAlchemy that the sending needs.

Plain frozen dataclasses, as the rest of the setup (server/core/config.py); config.yaml's checks of
them are pydantic models of the same names in server/core/notification_settings_schema.py. ``_Data`` is the base
of every class of the setup."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import ClassVar, Literal

_NO_DEFAULT = object()


@dataclass(frozen=True)
class _Data:
    """A part of the setup: built from the plain data config.yaml's models validated (or a setup
    saved by them), and written back as that data (``model_dump``, as pydantic's)."""

    _convert: ClassVar[dict] = {}  # field -> what makes its value from plain data
    _order: ClassVar[tuple] = ()  # the fields in the schema's order, where the dataclass needs others

    @classmethod
    def of(cls, data: dict):
        convert = cls._convert
        return cls(**{key: convert[key](value) if key in convert else value for key, value in data.items()})

    def model_dump(self, mode: str = "python", exclude_defaults: bool = False) -> dict:
        """As pydantic's: mode "json" writes dates and times as ISO text; ``exclude_defaults`` leaves
        out what equals its default, inside nested parts too."""
        defaults = _defaults(type(self))
        out = {}
        for name in self._order or defaults:
            value = getattr(self, name)
            if exclude_defaults and value == defaults[name]:
                continue
            out[name] = _dump(value, mode, exclude_defaults)
        return out

    def model_dump_json(self) -> str:
        """As pydantic's: compact JSON, text outside ASCII as it is."""
        import json

        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))

    def model_copy(self, update: dict | None = None):
        """As pydantic's: a copy with the fields of ``update`` changed (not checked: the caller's values)."""
        return dataclasses.replace(self, **(update or {}))


@functools.cache
def _defaults(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = _NO_DEFAULT
    return out


def _dump(value, mode: str, exclude_defaults: bool):
    if isinstance(value, _Data):
        return value.model_dump(mode, exclude_defaults)
    if isinstance(value, list):
        return [_dump(item, mode, exclude_defaults) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item, mode, exclude_defaults) for key, item in value.items()}
    if mode == "json" and isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _optional(convert):
    return lambda value: None if value is None else convert(value)


@dataclass(frozen=True)
class SmsGatewaySettings(_Data):
    """Any SMS brandname gateway over HTTP. In ``url`` and ``body``, {phone} and {text} are replaced
    (URL-encoded in the URL and in a form body, JSON-escaped in a JSON body)."""

    url: str
    method: Literal["POST", "GET"] = "POST"
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Authorization": "Bearer ${SMS_TOKEN}"}
    body: str | None = '{"to": "{phone}", "text": "{text}"}'
    content_type: str = "application/json"
    phone_format: Literal["0", "84", "+84"] = "84"  # 0912345678, 84912345678 or +84912345678
    no_diacritics: bool = False  # "Moi ban den quay 5": one plain SMS instead of a longer Unicode one
    timeout_seconds: float = 10.0


SmsGatewaySettings._convert = {"headers": dict, "timeout_seconds": float}


@dataclass(frozen=True)
class EmailSettings(_Data):
    host: str
    sender: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None  # "${SMTP_PASSWORD}"
    timeout_seconds: float = 10.0


EmailSettings._convert = {"timeout_seconds": float}
EmailSettings._order = ("host", "port", "security", "username", "password", "sender", "timeout_seconds")


@dataclass(frozen=True)
class ZaloZnsSettings(_Data):
    """Zalo Notification Service: a template message of the centre's Official Account, approved by
    Zalo, with the parameters number, counter, ahead and site."""

    access_token: str  # "${ZALO_ACCESS_TOKEN}"
    template_near: str
    template_called: str
    url: str = "https://business.openapi.zalo.me/message/template"
    template_cancelled: str | None = None  # a booking the centre cancelled (server/core/cancel_notices.py)
    timeout_seconds: float = 10.0


ZaloZnsSettings._convert = {"timeout_seconds": float}
ZaloZnsSettings._order = (
    "url",
    "access_token",
    "template_near",
    "template_called",
    "template_cancelled",
    "timeout_seconds",
)


@dataclass(frozen=True)
class WebPushSettings(_Data):
    """Web Push (RFC 8030/8291) with VAPID (RFC 8292): the browser's push service carries the message.
    The VAPID key pair is derived from the server's secret key, so every process signs alike."""

    subject: str = "mailto:admin@localhost"  # who to contact
    # the push services a subscription may point at (anything else would let a ticket holder make the
    # server post to any address): host names, "*." for any below one, or "http://host:port" for a lab
    services: list[str] = field(
        default_factory=lambda: [
            "fcm.googleapis.com",
            "updates.push.services.mozilla.com",
            "*.push.apple.com",
            "*.notify.windows.com",
        ]
    )
    ttl_seconds: int = 900  # a push not delivered by then is dropped
    timeout_seconds: float = 10.0


WebPushSettings._convert = {"services": list, "timeout_seconds": float}


@dataclass(frozen=True)
class NotificationSettings(_Data):
    ahead: int = 3  # "near" is sent when this many or fewer are ahead
    channels: list[Literal["sms", "email", "zalo", "push"]] = field(default_factory=list)  # in this order
    sms: SmsGatewaySettings | None = None
    email: EmailSettings | None = None
    zalo: ZaloZnsSettings | None = None
    push: WebPushSettings | None = None


NotificationSettings._convert = {
    "channels": list,
    "sms": _optional(SmsGatewaySettings.of),
    "email": _optional(EmailSettings.of),
    "zalo": _optional(ZaloZnsSettings.of),
    "push": _optional(WebPushSettings.of),
}
