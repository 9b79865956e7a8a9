"""Bookings, same-day remote numbers and check-in, in one queue with walk-ins (docs/bookings.md).

Flask-free, like the engine: each action runs inside the caller's transaction and returns an
``Outcome``; a refusal raises before anything is written, or the caller rolls back.

- A service takes bookings when its setup has ``booking`` (config.Booking). Its slots run from
  the site's opening to its closing time on working days that are not holidays.
- A slot is never oversold: its places taken are one row (``booking_slots``) raised by one
  conditional upsert, ``taken + 1 WHERE taken < per_slot``, in the booking's transaction. The
  row lock (PostgreSQL) or the write lock (SQLite) makes concurrent bookings wait for each other,
  and the condition is checked again on the latest row: the last place goes to one of them.
- One number per person (ID number, else phone) per service and business day, walk-in, remote or
  booked: ``person_days`` has that key, and an insert that finds it taken names what is held.
- Personal data: the ID number and the phone are kept only as a keyed hash (HMAC-SHA256 with the
  installation's person key, kept outside the database) and a masked form (``0010******45``).
  The card's name, birth date, sex and address are read from its QR text and dropped at once.
- A remote number is a real ticket of the day's sequence, issued at once but held out of the
  queue (status ``remote``: not called, not counted waiting) until its citizen checks in; past
  its deadline it lapses (``lapse_overdue``). A booking checked in within its grace window gets
  a ticket due at its slot's start (``tickets.due_at``): from then on it is called ahead of
  walk-ins; checked in later, it is an ordinary walk-in ticket (still marked booked).

This package is their public face (``from ..core import bookings as bk``; ``bk.<name>``); its modules:

    records    the tables and the steps every part takes (connection, events, waiting counts)
    people     the person key, keyed hashes and masked forms, the ID card's QR text
    slots      a service's booking settings, slots, booking window, grace window
    views      a booking as its holder and staff see it
    booking    book (a slot) and take_remote (a same-day number)
    sms        the one-time SMS code of a booking request, and the wrong codes typed for it
    ending     cancel, lapse_overdue, cancel_from_today; stranded (what new opening hours would close on),
               cancel_by_centre, remote_due_by_close
    check_in   check-in by code, ID card or ID number; a walk-in for a card without a booking
    figures    booking_figures for the reports
"""

from .booking import book, take_remote
from .check_in import CHECK_IN_EARLY, OnTicket, check_in
from .ending import (
    CENTRE_REASONS,
    STRANDED_BY,
    cancel,
    cancel_by_centre,
    cancel_from_today,
    lapse_overdue,
    remote_due_by_close,
    stranded,
)
from .figures import FIGURES, booking_figures
from .people import (
    CCCD_QR_MAX,
    PERSON_KEY_ENV,
    Card,
    Person,
    id_hash,
    mask_id,
    mask_phone,
    normal_id,
    normal_phone,
    parse_cccd_qr,
    person,
    person_key,
)
from .slots import booking_window, open_days, slot_times, slots
from .sms import SMS_CODE_MINUTES, SMS_CODE_TRIES, check_request, check_sms_code, guess_sms_code, sms_challenge
from .views import (
    CODE_ALPHABET,
    CODE_LENGTH,
    booking_view,
    bookings_of_day,
    get_booking,
    remote_ending,
    remote_of_ticket,
)

__all__ = [
    "CENTRE_REASONS",
    "CHECK_IN_EARLY",
    "CCCD_QR_MAX",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "Card",
    "FIGURES",
    "OnTicket",
    "PERSON_KEY_ENV",
    "Person",
    "STRANDED_BY",
    "SMS_CODE_MINUTES",
    "SMS_CODE_TRIES",
    "book",
    "booking_figures",
    "booking_view",
    "booking_window",
    "bookings_of_day",
    "cancel",
    "cancel_by_centre",
    "cancel_from_today",
    "check_in",
    "check_request",
    "check_sms_code",
    "get_booking",
    "guess_sms_code",
    "id_hash",
    "lapse_overdue",
    "mask_id",
    "mask_phone",
    "normal_id",
    "normal_phone",
    "open_days",
    "parse_cccd_qr",
    "person",
    "person_key",
    "remote_due_by_close",
    "remote_ending",
    "remote_of_ticket",
    "slot_times",
    "slots",
    "sms_challenge",
    "stranded",
    "take_remote",
]
