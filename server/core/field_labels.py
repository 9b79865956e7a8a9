"""The labels of the site's settings and of a display's fields, the one list of them: /admin shows its
forms of the site and of a display with them (server/web/admin_page.py gives ``LABELS`` to
server/web/static/admin_fields.js), and the sentences of refusals that name a field a person changed say
the same: "Giờ mở cửa" / "Opens at", not "hours.open". The refusal's ``field`` keeps the API's path,
for programs.

Flask-free. A path without a label of its own is named by its group's tab ("Nhắn tin cho công dân" for
"notifications.sms"), else as it came.
"""

from __future__ import annotations

from .i18n import Phrase, has_message

# the site's settings (PATCH /api/v1/admin/site, the tabs Giờ làm việc & ngày nghỉ, Bảng tin, ...): every field
# of /admin's forms of the site (their other keys, as "hours.holidays", are how the API may name one)
SITE = {
    "name": "admin_f_site_name",
    "sms_name": "admin_f_site_sms_name",
    "place": "admin_f_place",
    "address": "admin_f_site_address",
    "languages": "admin_f_english",
    "hours.open": "admin_f_open",
    "hours.close": "admin_f_close",
    "hours.days": "admin_f_days",
    "hours.holidays": "admin_f_holidays",
    "holidays": "admin_f_holidays",
    "ticket.tracking_url": "admin_f_tracking_url",
    "ticket.footer": "admin_f_ticket_footer",
    "ticker": "admin_f_ticker",
    "policy.priority": "admin_f_policy",
    "policy.normal_per_priority": "admin_f_normal_per_priority",
    "policy.max_wait_minutes": "admin_f_max_wait",
    "policy.unstarted_at_next": "admin_f_unstarted_at_next",
    "policy.end_of_day": "admin_f_end_of_day",
    "notifications.ahead": "admin_f_notify_ahead",
    "notifications.channels": "admin_f_notify_channels",
    "notifications.sms.url": "admin_f_sms_url",
    "notifications.sms.method": "admin_f_sms_method",
    "notifications.sms.content_type": "admin_f_sms_content_type",
    "notifications.sms.headers": "admin_f_sms_headers",
    "notifications.sms.body": "admin_f_sms_body",
    "notifications.sms.phone_format": "admin_f_sms_phone_format",
    "notifications.sms.no_diacritics": "admin_f_sms_no_diacritics",
    "notifications.zalo.access_token": "admin_f_zalo_token",
    "notifications.zalo.template_near": "admin_f_zalo_near",
    "notifications.zalo.template_called": "admin_f_zalo_called",
    "notifications.zalo.template_cancelled": "admin_f_zalo_cancelled",
    "notifications.email.host": "admin_f_email_host",
    "notifications.email.port": "admin_f_email_port",
    "notifications.email.security": "admin_f_email_security",
    "notifications.email.sender": "admin_f_email_sender",
    "notifications.email.username": "admin_f_email_username",
    "notifications.email.password": "admin_f_email_password",
    "notifications.push.subject": "admin_f_push_subject",
    "limits.tickets_per_address": "admin_f_tickets_per_address",
    "limits.tickets_per_kiosk": "admin_f_tickets_per_kiosk",
    "limits.bookings_per_address": "admin_f_bookings_per_address",
    "limits.lookups_per_address": "admin_f_lookups_per_address",
    "limits.exempt_addresses": "admin_f_exempt_addresses",
    "limits.require_kiosk_token": "admin_f_require_kiosk_token",
    "sounds.recordings": "admin_f_recordings",
    "sounds.tts": "admin_f_tts",
    "sounds.piper_model": "admin_f_piper_model",
    "sounds.cache_mb": "admin_f_cache_mb",
}
# a display's (PATCH /api/v1/admin/displays/{id})
DISPLAY = {
    "id": "admin_f_code",
    "name": "admin_f_display_name",
    "mode": "admin_f_display_mode",
    "counters": "admin_f_display_counters",
    "counter": "admin_f_display_counter",
    "layout": "admin_f_layout",
    "ticker": "admin_f_ticker",
    "slides": "admin_f_slides",
    "slide_seconds": "admin_f_slide_seconds",
    "voice.language": "admin_f_voice_language",
    "voice.repeat": "admin_f_voice_repeat",
    "voice.chime": "admin_f_voice_chime",
    "voice.region": "admin_f_voice_region",
    "voice.phrase": "admin_f_voice_phrase",
    "voice.phrase_en": "admin_f_voice_phrase_en",
}
# a group of the site's settings without a label of its own: its tab
SITE_TABS = {
    "hours": "admin_tab_hours",
    "notifications": "admin_tab_notifications",
    "limits": "admin_tab_limits",
    "sounds": "admin_tab_sounds",
}
LABELS = {"site": SITE, "displays": DISPLAY}


def field_label(path: str, section: str = "site") -> Phrase | str:
    """The label /admin shows ``path`` of ``section`` ("site", "displays") with, said in each reader's
    language; the group's tab for a path inside a group; else ``path`` itself."""
    labels = LABELS.get(section, {})
    key = labels.get(path) or (SITE_TABS.get(path.split(".")[0]) if section == "site" else None)
    return Phrase(key) if has_message(key) else path
