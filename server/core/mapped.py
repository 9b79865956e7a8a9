"""The ORM classes of the data model, each mapped onto its table of models.py (where the columns
are said). Imported at the first use of ``models.Ticket`` (or any other class of these): an idle
server works through the tables alone (issue 21)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from . import models


class Base(DeclarativeBase):
    metadata = models.metadata


class Site(Base):
    __table__ = models.sites


class SiteSetup(Base):
    __table__ = models.site_setups


class Service(Base):
    __table__ = models.services


class PriorityClass(Base):
    __table__ = models.priority_classes


class Counter(Base):
    __table__ = models.counters


class CounterService(Base):
    __table__ = models.counter_services


class NumberSequence(Base):
    __table__ = models.number_sequences


class Ticket(Base):
    __table__ = models.tickets


class Event(Base):
    __table__ = models.events


class PrintJob(Base):
    __table__ = models.print_jobs


class PrinterState(Base):
    __table__ = models.printer_states


class User(Base):
    __table__ = models.users


class ApiToken(Base):
    __table__ = models.api_tokens


class Rating(Base):
    __table__ = models.ratings


class IdempotencyKey(Base):
    __table__ = models.idempotency_keys


class Webhook(Base):
    __table__ = models.webhooks


class OutboxEvent(Base):
    __table__ = models.outbox_events


class WebhookDelivery(Base):
    __table__ = models.webhook_deliveries


class Booking(Base):
    __table__ = models.bookings


class BookingSlot(Base):
    __table__ = models.booking_slots


class PersonDay(Base):
    __table__ = models.person_days


class NotificationSubscription(Base):
    __table__ = models.notification_subscriptions


class Notice(Base):
    __table__ = models.notices


class BookingOptIn(Base):
    __table__ = models.booking_opt_ins


class SiteDayFigures(Base):
    __table__ = models.site_day_figures


class ReportDayFigures(Base):
    __table__ = models.report_day_figures
