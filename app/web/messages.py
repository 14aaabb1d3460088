"""Validation errors in plain words: what is wrong and what to type instead.

pydantic's messages are written for programmers ("String should have at least 1 character");
pages and the API show these instead, keyed by pydantic's stable error types.
"""

from typing import Any


def _n(count: Any, word: str) -> str:
    """'1 character', '10 characters'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def plain(error: dict) -> str:
    """One pydantic error (an item of ValidationError.errors()) as a sentence for a person."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "This is required: fill it in."
    if kind == "string_too_short":
        return f"Enter at least {_n(ctx['min_length'], 'character')}."
    if kind == "string_too_long":
        return f"Enter at most {_n(ctx['max_length'], 'character')}."
    if kind in ("too_short", "too_long"):
        return "Choose a different number of options."
    if kind == "string_pattern_mismatch":
        return "Use visible text, without control characters."
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "Enter a whole number, such as 3."
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return "Enter a number, such as 2.5."
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bounds(kind, ctx)
    if kind.startswith(("date_", "datetime_")):
        return "Enter a date as year-month-day, such as 2026-03-31."
    if kind in ("literal_error", "enum"):
        return f"Choose one of: {ctx.get('expected', 'the options offered')}."
    if kind in ("bool_parsing", "bool_type"):
        return "Choose yes or no."
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if "email address" in message:
            return "Enter a valid email address, such as name@example.org."
        return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    return "This value is not valid here: check it and try again."


def _bounds(kind: str, ctx: dict) -> str:
    words = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    phrase, key = words[kind]
    value = ctx.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"Enter a number {phrase} {value}."
