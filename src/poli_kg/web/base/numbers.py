"""How the pages write numbers, amounts and dates: ``1.194`` / ``35 M€`` / ``3 maggio 2017``
in Italian, ``1,194`` / ``€35 M`` / ``3 May 2017`` in English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from poli_kg.namespaces import EU_CURRENCY, UNIT

MONTHS = {
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def format_number(value: Decimal | int | float, lang: str, *, decimals: int | None = None) -> str:
    """``1.194`` / ``49,8`` (it), ``1,194`` / ``49.8`` (en); integers without decimals."""
    number = Decimal(str(value))
    if decimals is not None:
        number = round(number, decimals)
    if number == number.to_integral_value():
        text = f"{int(number):,}"
    else:
        text = f"{number.normalize():,f}"
    if lang == "it":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_amount(value: Decimal | int | float, unit: str | None, lang: str) -> str:
    """A measured value with its unit: ``35 M€`` / ``€35 M``, ``30 %`` / ``30%``, ``1.194``."""
    number = Decimal(str(value))
    if unit == str(EU_CURRENCY.EUR):
        if abs(number) >= 1_000_000:
            millions = format_number(number / 1_000_000, lang, decimals=1)
            return f"{millions} M€" if lang == "it" else f"€{millions} M"
        amount = format_number(number, lang, decimals=2)
        return f"{amount} €" if lang == "it" else f"€{amount}"
    if unit == str(UNIT.PERCENT):
        return f"{format_number(number, lang)} %" if lang == "it" else f"{format_number(number, lang)}%"
    return format_number(number, lang)


def format_date(day: date, lang: str) -> str:
    """``3 maggio 2017`` (it), ``3 May 2017`` (en)."""
    return f"{day.day} {MONTHS[lang][day.month - 1]} {day.year}"
