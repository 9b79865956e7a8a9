"""The booking page's tests on a phone (tests/pages/test_book_page.py, test_booking_day.py)."""

from __future__ import annotations


def no_sideways_scroll(tab) -> None:
    """The page fits the 360 px phone's width: nothing to scroll sideways."""
    assert tab.evaluate("document.scrollingElement.scrollWidth") <= 360, "the page is wider than the phone"
