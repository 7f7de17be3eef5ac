"""Push and pull: the server side of ``sync/PROTOCOL.md``.

A push is one transaction. Replays (``seq <= last_seq``) are answered from their receipts; the new
mutations are applied and flushed together (``push`` says how a refused one leaves nothing behind), and
the device's ``last_seq`` moves in the same transaction as the effects it acknowledges.

Both go through the registry of kinds of records (``server/services/kinds/``): a push records each
mutation with its kind, a pull merges the kinds' changed rows and shows each with its kind.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from server.db import begin_write, db
from server.errors import Conflict, Forbidden
from server.models import Device, Event, Receipt, School
from server.services import audit, deadlines, journal, kinds, receipts, schools
from server.services.accounts import Actor
from sync import rules
from sync.calendar import WorkCalendar
from sync.events import ROLES_ALLOWED, ROLES_READING_CONTENTS, Role


def _result(
    mutation: dict[str, Any],
    status: str,
    error: str | None = None,
    record: kinds.Record | None = None,
    held_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "seq": mutation["seq"],
        "id": mutation["id"],
        "status": status,
        "error": error,
        # A numbered record's number in the journal (a letter's serial number); other records have none.
        "serial_no": getattr(record, "serial_no", None),
        "version": record.version if record is not None else None,
        # ``receipt_code_used``: the letter holding the code (``receipts.HeldBy``). Not kept in receipts.
        "held_by": held_by,
    }


def _record_of(event: Event, school: School) -> kinds.Record | None:
    """The record a known event changed, for answering its replay."""
    if event.appeal is not None:
        return event.appeal
    assert event.subject is not None
    found: kinds.Record | None = kinds.kind_of(event.type).find(school, event.subject)
    return found


def _replay(device: Device, mutation: dict[str, Any]) -> dict[str, Any]:
    receipt = db.session.get(Receipt, (device.id, mutation["seq"]))
    if receipt is None or receipt.mutation_id != mutation["id"]:
        # The device numbered two different mutations alike; the second is not the one we hold.
        return _result(mutation, "rejected", "seq_reused")
    # Answered as the first time: a refusal stays a refusal, so a device that lost the first answer
    # still sets the mutation aside under "needs attention" instead of taking it as delivered.
    status = "duplicate" if receipt.status in ("applied", "duplicate") else receipt.status
    return {**_result(mutation, status, receipt.error), "serial_no": receipt.serial_no, "version": receipt.version}


def _same_mutation(known: Event, mutation: dict[str, Any], device: Device, school: School) -> bool:
    """Whether a mutation under a known id is that very event sent again by the device that recorded it.
    Only this rare path opens the stored event's sealed data (``journal.as_mutation``)."""
    stored = journal.as_mutation(known, school)
    incoming = {
        "device": str(device.uuid),
        "type": mutation["type"].value,
        "record": str(kinds.kind_of(mutation["type"]).target(mutation)),
        "base_version": mutation["base_version"],
        "data": mutation["data"],
    }
    if stored["data"] is None:  # an erased case: only what stayed readable can still be compared
        stored["data"], incoming["data"] = known.meta, journal.readable_part(mutation, known.appeal)
    return rules.same_mutation(stored, incoming)


def _apply(actor: Actor, mutation: dict[str, Any], lookups: kinds.Lookups, careful: bool) -> dict[str, Any]:
    """One new mutation's answer. ``careful``: in a savepoint of its own, flushed at once (see ``push``)."""
    school = actor.school
    if mutation["id"] in lookups.stored_events or mutation["id"] in lookups.recorded_events:
        # Delivered before, perhaps from this tablet under an earlier enrolment (or twice in this batch):
        # acknowledge, never re-apply. The query flushes the batch so far, so it finds either.
        known = db.session.scalars(select(Event).where(Event.uuid == mutation["id"])).one()
        if known.school_id != school.id:
            # Never compared: that would open another school's journal for this one's device.
            return _result(mutation, "rejected", "id_conflict")
        if not _same_mutation(known, mutation, actor.device, school):
            # One id, one mutation: another mutation under a known id would be taken for delivered.
            return _result(mutation, "rejected", "id_reused")
        return _result(mutation, "duplicate", record=_record_of(known, school))
    try:
        if careful:
            with db.session.begin_nested():
                recorded = kinds.record(actor, school, mutation, lookups, lookups.today)
                db.session.flush()
        else:
            recorded = kinds.record(actor, school, mutation, lookups, lookups.today)
    except receipts.HeldBy as refusal:
        return _result(mutation, "rejected", refusal.code, held_by=refusal.held_by)
    except rules.Refusal as refusal:
        return _result(mutation, "rejected", refusal.code)
    except IntegrityError:
        if not careful:
            raise  # the whole unit is rolled back and run again carefully (``push``)
        # Another school's push took the same id at the same moment (our checks ran under our lock only).
        lookups.forget(mutation)
        return _result(mutation, "rejected", "id_conflict")
    except rules.Conflict:
        return _result(mutation, "conflict", "stale_version", record=lookups.target(mutation))
    lookups.recorded_events.add(mutation["id"])
    return _result(mutation, "applied", record=recorded)


def _apply_all(actor: Actor, device: Device, mutations: list[dict[str, Any]], careful: bool) -> list[dict[str, Any]]:
    lookups = kinds.lookups_for(actor.school, mutations, journal.school_today(actor.school))
    results = [_apply(actor, mutation, lookups, careful) for mutation in mutations]
    db.session.flush()
    if results:
        # Receipts are only ever read by later pushes: inserted in bulk, without an ORM object each.
        db.session.execute(
            insert(Receipt),
            [
                {
                    "device_id": device.id,
                    "seq": result["seq"],
                    "mutation_id": result["id"],
                    "status": result["status"],
                    "error": result["error"],
                    "serial_no": result["serial_no"],
                    "version": result["version"],
                }
                for result in results
            ],
        )
        device.last_seq = results[-1]["seq"]
        db.session.flush()
    return results


def push(actor: Actor, device_id: Any, mutations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply a batch in one transaction.

    The new mutations run first as one unit flushed once (the rules refuse before changing anything, so a
    refusal needs no rollback). Only a unique-constraint race with another school's push at the same moment
    can fail that flush; the unit is then rolled back and run again with a savepoint and a flush per mutation,
    which turns the one that lost the race into ``id_conflict`` and keeps the rest.
    """
    if device_id != actor.device.uuid:
        raise Forbidden("This push names another device.", code="device_mismatch")
    refused = sorted({m["type"].value for m in mutations if actor.role not in ROLES_ALLOWED[m["type"]]})
    if refused:
        raise Forbidden(f"Role {actor.role.value} may not record {', '.join(refused)}.", code="role_not_allowed")

    # The write lock comes only now, after the body was parsed and validated: other tablets' requests
    # wait for the journal itself, not for this one's JSON.
    begin_write()
    journal.lock_school(actor.school.id)
    device = actor.device
    db.session.refresh(device)
    try:
        plan = rules.plan_batch(device.last_seq, [m["seq"] for m in mutations])
    except rules.SeqGap as gap:
        raise Conflict(f"Expected seq {gap.last_seq + 1} next.", code="seq_gap", last_seq=gap.last_seq) from gap

    results = [_replay(device, m) for m in mutations[: plan.first_new]]
    new = mutations[plan.first_new :]
    try:
        with db.session.begin_nested():
            applied = _apply_all(actor, device, new, careful=False)
    except IntegrityError:
        applied = _apply_all(actor, device, new, careful=True)
    return {"last_seq": device.last_seq, "results": results + applied}


def reads_contents(actor: Actor) -> bool:
    if actor.role is Role.DIRECTOR:
        return actor.school.director_reads_contents
    return actor.role in ROLES_READING_CONTENTS


def pull(actor: Actor, cursor: int, limit: int) -> dict[str, Any]:
    """Changes of the caller's school after ``cursor``, oldest first; the cursor is a change number.

    A page that carries letter contents is also an entry per letter in the audit trail of reads. The page
    is read and built in a read transaction, which waits for no writer; then a write transaction of its
    own records the reads, and the page is answered only once that commits (at the request's end). So the
    write lock is held for the audit rows alone, and no content leaves without its read recorded.
    """
    if cursor == actor.school.last_change_no:
        # Nothing new, the commonest pull by far (every device polls): answered from the snapshot the token
        # check read, before taking the write lock, querying four tables for nothing or building the page's
        # calendar. A change committed meanwhile comes with the next pull, as it would a moment later.
        return _page(actor.school, [], cursor, has_more=False)
    with_contents = reads_contents(actor)
    if cursor > actor.school.last_change_no:
        # The device saw changes this server no longer has (it was restored from a backup): start over.
        raise Conflict(
            "The cursor is ahead of the server; pull again from 0.",
            code="cursor_ahead",
            cursor=actor.school.last_change_no,
        )
    school = actor.school
    # Each kind of record has its own change numbers from the one counter: merge the first pages of each.
    rows: list[kinds.Record] = sorted(
        itertools.chain.from_iterable(kind.changed_since(school, cursor, limit + 1) for kind in kinds.KINDS.values()),
        key=lambda row: row.change_no,
    )
    page = rows[:limit]
    settings = schools.settings_of(school)
    today = journal.school_today(school)
    shown = kinds.PullPage(school, with_contents, settings, today)
    changes = sorted(
        itertools.chain.from_iterable(
            kind.render(of_kind, shown)
            for kind in kinds.KINDS.values()
            if (of_kind := [row for row in page if isinstance(row, kind.model)])
        ),
        key=lambda change: int(change["change_no"]),
    )
    answer = _page(
        school,
        changes,
        page[-1].change_no if page else cursor,
        has_more=len(rows) > limit,
        settings=settings,
        published=deadlines.work_calendar(settings, deadlines.calendar_years(today)),
    )
    if shown.reads:
        # An erased case is sent without contents: nothing is decrypted, so nothing is read.
        reader, school_id = audit.Reader.of(actor), school.id
        begin_write()
        audit.record_reads(school_id, reader, shown.reads)
    return answer


def _page(
    school: School,
    changes: list[dict[str, Any]],
    cursor: int,
    has_more: bool,
    settings: dict[str, Any] | None = None,
    published: WorkCalendar | None = None,
) -> dict[str, Any]:
    """A pull's answer, with the calendar published for the devices' own deadline counts (§6.4)."""
    if settings is None or published is None:
        settings = schools.settings_of(school)
        published = deadlines.work_calendar(settings, deadlines.calendar_years(journal.school_today(school)))
    return {
        "changes": changes,
        "cursor": cursor,
        "has_more": has_more,
        "calendar": deadlines.published(published, settings),
        # The printed journal shows the chain's head: a page printed later proves what was written by then.
        "chain": {"head": school.chain_head, "length": school.chain_length},
    }
