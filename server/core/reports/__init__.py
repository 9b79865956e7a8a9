"""Reports: figures per service, counter, clerk, day and hour of day, peak hours, the daily summary,
and the supervisor dashboard's live overview.

Plain functions over a database connection (a SQLAlchemy Connection or Session), free of Flask.
docs/reports.md says what each figure means for the people who read them. Definitions:

- a ticket belongs to the period in which it was **issued** (local time of the site), and so do
  all its figures: its wait, its service, its outcome and its rating;
- wait = first call − issue; service = finish − start (a "finish" without "start" dates the start
  at the call; a ticket ended by "next" without a start, under ``policy.unstarted_at_next: served``,
  is served with no service time, and so is one a counter's close or its day's end finished (tickets.finished_untimed);
  a transferred ticket's service is that of the counter that finished it);
- no-show rate = no-shows / calls; target met = wait ≤ the service's ``target_wait_minutes``,
  counted over the tickets that were called;
- a ticket still waiting when its business day ended expired (engine.expire_past_days): it is
  counted as such, neither as a no-show nor as never called;
- a remote number cancelled before its holder checked in, or lapsed (not checked in by its
  deadline: bookings/ending.py), has an expired ticket too, but is counted as cancelled or lapsed
  (tickets.status_code), neither expired nor never called;
- "% hài lòng" = (very satisfied + satisfied) / ratings.

How figures are attributed to the rows of each grouping:

- ``service``: issued, called, wait, target met, transferred and not called go to the service the
  citizen chose (the ticket's first service); served, service time, no-show, expired, cancelled, lapsed and
  ratings to the service in which the ticket ended (after a transfer, the new one).
- ``day`` and ``hour``: everything goes to the local day / hour of day of the issue.
- ``counter`` and ``clerk``: each step to whoever did it: the first call (and so the wait and the
  target) to the counter/clerk that made it; every call of a transferred ticket counts as a call;
  served and service time to who finished (for a number a close finished, who held it, as its
  ``finished`` event says); no-show and transfers to who marked them; ratings to
  the counter and clerk the rating names. "Issued", "not called" and "expired" have no counter and
  are given in the total only.

The total row is over the period's tickets and is the same whatever the grouping.
Median and 90th percentile interpolate linearly between ranks (as Excel's MEDIAN and
PERCENTILE.INC do); times are in seconds.

This module is the reports' public face; the modules behind it each do one job:

    tickets   reading the period's tickets (SQL for SQLite and PostgreSQL), gathered by profile
    tally     one row's figures while they are counted, and the statistics they end in
    rows      which rows a report shows, in which order, with which labels
    clock     local hours of UTC moments, fast; the ISO forms of times
    figures   the summary report: a period's figures per grouping, and in total
    peaks     peak hours
    text      numbers and times as people read them; the daily summary's sentence
    daily     the daily summary
    live      the dashboard's live overview and its alerts
"""

from .daily import daily_summary
from .figures import GROUPS, summary
from .live import alerts, live_overview, live_view
from .peaks import peak_hours
from .tally import describe, percentile
from .text import en_number, minutes_text, summary_text, vn_number
from .tickets import has_ratings

__all__ = [
    "GROUPS",
    "summary",
    "peak_hours",
    "daily_summary",
    "live_overview",
    "live_view",
    "alerts",
    "has_ratings",
    "describe",
    "percentile",
    "vn_number",
    "en_number",
    "minutes_text",
    "summary_text",
]
