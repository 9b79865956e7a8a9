"""Numbers and times as a person reads them (Vietnamese or English), and the daily summary's sentence."""

from __future__ import annotations

from ..i18n import Count, translate


def vn_number(value: float | int | None, decimals: int = 0) -> str:
    """1234.5 -> "1.234,5": Vietnamese grouping and decimal comma."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def en_number(value: float | int | None, decimals: int = 0) -> str:
    return "–" if value is None else f"{value:,.{decimals}f}"


def minutes_text(seconds: float | None, language: str = "vi") -> str:
    if seconds is None:
        return "–"
    number = vn_number(seconds / 60, 1) if language == "vi" else en_number(seconds / 60, 1)
    return translate("report_minutes", language, n=number)


def summary_text(s: dict, centre: str, language: str = "vi") -> str:
    number = vn_number if language == "vi" else en_number

    def count(value: int) -> Count:  # its text, and the form of the word it counts
        return Count(value, number(value))

    period = s["period"]["label"] if language == "vi" else s["period"]["label_en"]
    parts = [
        translate(
            "report_text_received",
            language,
            period=period,
            centre=centre,
            received=count(s["received"]),
            served=count(s["served"]),
            served_pct=number(s["served_pct"], 1),
            no_show=count(s["no_show"]),
            transferred=count(s["transferred"]),
        )
    ]
    if s.get("expired"):
        parts.append(translate("report_text_expired", language, expired=count(s["expired"])))
    if s.get("cancelled"):
        parts.append(translate("report_text_cancelled", language, cancelled=count(s["cancelled"])))
    if s.get("lapsed"):
        parts.append(translate("report_text_lapsed", language, lapsed=count(s["lapsed"])))
    if s["wait_avg"] is not None:
        parts.append(
            translate(
                "report_text_wait",
                language,
                wait=minutes_text(s["wait_avg"], language),
                early=count(s["early"]),
                on_time=number(s["on_time"]),
                late=number(s["late"]),
                met_pct=number(s["target_met_pct"], 1),
            )
        )
    ratings = s["ratings"]
    if ratings["total"]:
        parts.append(
            translate(
                "report_text_ratings",
                language,
                total=count(ratings["total"]),
                pct=number(ratings["satisfied_pct"], 1),
                very=number(ratings["very_satisfied"]),
                satisfied=number(ratings["satisfied"]),
                unsatisfied=number(ratings["unsatisfied"]),
            )
        )
    if s["peak"] and s.get("days_with_tickets", 0) > 1:
        parts.append(
            translate(
                "report_text_peak", language, hour=s["peak"]["label"], per_day=number(s["peak"]["arrivals_per_day"], 1)
            )
        )
    elif s["peak"]:
        parts.append(
            translate("report_text_peak_day", language, hour=s["peak"]["label"], n=count(s["peak"]["arrivals"]))
        )
    return " ".join(parts)
