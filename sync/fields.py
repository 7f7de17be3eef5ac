"""The wire's field types (marshmallow 4): strings every database can store, JSON booleans only, UUIDs and
dates written the one way the wire writes them, moments with their offset; and the small constructors the
schemas build their fields with, each bound given by ``sync/spec.json`` through ``sync.spec.Limits``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from marshmallow import fields, validate


class SafeString(fields.String):
    """A string that every database can store: no NUL character and no lone surrogate."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages.setdefault("unsafe", "Contains characters that cannot be stored.")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("unsafe")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self.make_error("unsafe") from exc
        return text


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, 0, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class WireUUID(fields.UUID):
    """A UUID written the one way the wire writes it: 8-4-4-4-12 hexadecimal digits."""

    PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not (isinstance(value, str) and self.PATTERN.fullmatch(value)):
            raise self.make_error("invalid_uuid")
        result: uuid.UUID = super()._deserialize(value, attr, data, **kwargs)
        return result


class WireDate(fields.Date):
    """A calendar date as YYYY-MM-DD, nothing else that ISO 8601 would also allow."""

    PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not (isinstance(value, str) and self.PATTERN.fullmatch(value)):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        result: dt.date = super()._deserialize(value, attr, data, **kwargs)
        return result


NOT_BLANK = validate.Predicate("strip", error="Cannot be blank.")


def text_field(max_length: int, **kwargs: Any) -> SafeString:
    return SafeString(validate=validate.Length(max=max_length), **kwargs)


def filled_text_field(max_length: int, **kwargs: Any) -> SafeString:
    """A string of at least one character that is not white space."""
    return SafeString(validate=[validate.Length(min=1, max=max_length), NOT_BLANK], **kwargs)


def int_field(bounds: tuple[int, int], **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=bounds[0], max=bounds[1]), **kwargs)


def list_field(item: fields.Field[Any], bounds: tuple[int, int], **kwargs: Any) -> fields.List[Any]:
    return fields.List(item, validate=validate.Length(min=bounds[0], max=bounds[1]), **kwargs)


def choice_field(values: tuple[str, ...]) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(values))


class WireMoment(fields.AwareDateTime):
    """A moment in ISO 8601 with its offset (``2025-03-14T08:05:00+06:00``); a naive time is refused, and so is
    one that has no UTC equivalent (0001-01-01T00:00+06:00), since moments are stored in UTC."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)
        self.error_messages.setdefault("out_of_range", "Out of range.")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        moment: dt.datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(dt.UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc
        return moment
