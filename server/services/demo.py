"""A fictional demo school for ``make run`` on an empty database. Production never calls this."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from server.db import db
from server.models import School
from server.services import accounts
from sync.events import Role

DEMO_SCHOOL = "Demo school No. 1 (fictional)"
# Invented people, one per role; any likeness to a real person is accidental.
DEMO_USERS = (
    (Role.PEDAGOGUE, "pedagogue", "Айгерим Садыкова"),
    (Role.COMMISSION, "commission", "Бакыт Токтогулов"),
    (Role.DIRECTOR, "director", "Нурлан Асанов"),
    (Role.ADMIN, "admin", "Элмира Жумабаева"),
)


# Placeholder numbers in the reserved 000 range: the school puts its real ones in the settings.
DEMO_TRUST_PHONES = [
    {"label": "Социалдык педагог", "phone": "+996 000 000 001"},
    {"label": "Директордун тарбия иштери боюнча орун басары", "phone": "+996 000 000 002"},
    {"label": "Балдар иштери боюнча инспектор (БИИ)", "phone": "+996 000 000 003"},
]


# The three-person commission of regulation 000, invented like the accounts above.
DEMO_COMMISSION = [
    {"name": "Айгерим Садыкова", "position": "социалдык педагог"},
    {"name": "Бакыт Токтогулов", "position": "директордун тарбия иштери боюнча орун басары"},
    {"name": "Гүлнара Осмонова", "position": "профсоюз өкүлү"},
]


def seed_if_empty() -> list[tuple[str, str, str]] | None:
    """Create the demo school unless any school exists; returns (role, username, password) per account."""
    if db.session.scalar(select(School.id).limit(1)) is not None:
        return None
    school = accounts.create_school(DEMO_SCHOOL)
    school.settings = {
        "trust_phones": DEMO_TRUST_PHONES,
        "commission_members": DEMO_COMMISSION,
        "working_group": DEMO_COMMISSION[:2],
    }
    credentials = []
    for role, username, full_name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        accounts.create_user(school, role, username, full_name, password)
        credentials.append((role.value, username, password))
    return credentials
