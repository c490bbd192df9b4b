"""Online moves: an organization changes database while the platform keeps writing.

  1. capture  every insert, update and delete of its rows in the source is logged (capture.py);
  2. copy     its rows, by COPY in committed batches, resumable from the target's last id (into
              bare tables when the target is empty, its indexes built after: bulk_load.py);
  3. catch up the logged changes are replayed onto the target until the backlog is small;
  4. verify   the rows no write touched since the capture began, by checksum, outside any pause;
  5. cut over replayed rows are verified as they come (outside any pause); then the
              organization's writes are held (at most TENANT_MOVE_MAX_PAUSE), the rest is
              replayed, the rows of the last changes verified, the source fenced and
              "databaseUrl" switched; then the writers are released. A backlog that cannot be
              drained within the pause releases them and the catch-up goes on, then tries again.
  6. validate the foreign keys a bulk load brought back NOT VALID (bulk_load.py).
While others write on its servers, it yields to them (pacing.py), at full speed otherwise.
Killed at any point, a run of the same command goes on from where the capture stands;
abort() removes the capture, the half-copied rows and any fence, leaving the source as it was.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import psycopg

from app.extensions import db
from app.operations import bulk_load, capture, fences, pacing
from app.operations.transfer import (
    DEFAULT_BATCH,
    TABLES,
    TransferError,
    TransferReport,
    WritableDatabase,
    copy_table,
    delete_org_rows,
    foreign_references,
    org_counts,
    table_state,
)
from app.tenancy.urls import render, seal

SMALL_BACKLOG = 500  # entries: few enough to replay within a pause
CUTOVER_ATTEMPTS = 20


@dataclass
class Progress:
    phase: str = "capture"
    copied: int = 0
    backlog: int = 0
    last_pause_ms: float | None = None
    yielding: bool = False  # to others writing on its servers (pacing.py)
    cutover_attempts: int = 0
    phase_seconds: dict[str, float] = field(default_factory=dict)  # time spent in each phase
    phase_started: float = field(default_factory=time.monotonic, repr=False)

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if key != "phase_started"}


def move(
    state, plan, *, max_pause: float, batch: int = DEFAULT_BATCH, report: Callable[[Progress], None] = lambda p: None
) -> tuple[TransferReport, Progress]:
    org_id, progress, result = plan.org.id, Progress(), TransferReport()
    db.session.rollback()  # no transaction of the main database stays open (and holds back vacuum) for the move
    same = pacing.same_server(plan.source.url, plan.target.url)
    with (
        plan.source.connect() as src,
        plan.target.connect() as dst,
        plan.source.connect() as holder,
        nullcontext(holder) if same else plan.target.connect() as beside_target,
    ):
        dst.autocommit = holder.autocommit = beside_target.autocommit = True
        for conn in (src, dst):  # one server process per statement: parallel workers and JIT would take every core
            conn.execute("SET max_parallel_workers_per_gather = 0; SET jit = off")
        src.commit()
        live = pacing.Traffic(
            [holder] if same else [holder, beside_target], plan.target.url.database, state.config["TENANT_MOVE_YIELD"]
        )
        gap = pacing.WalGap(beside_target, live)
        if not capture.active(src, org_id):  # a fresh start: nothing in the target predates the capture
            crossing = foreign_references(src, org_id)
            src.rollback()
            if crossing:
                raise TransferError(f"{'; '.join(crossing)}: fix them in {plan.source.label} first; nothing was moved")
            fences.lift(dst, org_id)
            result.restarted = [t for t, n in org_counts(dst, org_id).items() if n]
            delete_org_rows(dst, org_id)
            capture.start(src, org_id, plan.target.label)
            if bulk_load.empty(dst):  # load bare tables, build the indexes once after (pg_restore's order)
                bulk_load.set_aside(src, dst, org_id)
        fences.lift(src, org_id)  # its rows live here until the switch (a killed cutover may have fenced them)
        straight = bulk_load.deferred(src, org_id)
        _phase(progress, "copy", report)
        for table in TABLES:
            last = dst.execute(f'SELECT max(id) FROM "{table}" WHERE "organizationId" = %s', (org_id,)).fetchone()[0]

            def counted(_table, n):
                progress.copied, progress.yielding = progress.copied + n, live.live
                report(progress)

            result.tables[table] = copy_table(src, dst, table, org_id, last, batch, counted, straight, gap)
        _phase(progress, "indexes", report)
        bulk_load.rebuild(src, dst, org_id, parallel=not live())
        _phase(progress, "catch-up", report)
        catch_up(src, dst, org_id, progress, report, gap)
        _phase(progress, "verify", report)
        verify_untouched(src, dst, org_id, plan, one_side_at_a_time=live())
        _phase(progress, "cutover", report)
        cut_over(state, plan, src, dst, holder, progress, max_pause, report, gap)
        capture.stop(src, org_id)
        result.verified = org_counts(src, org_id)  # fenced now: these are the rows that moved
        src.rollback()
        _phase(progress, "validate", report)
        result.warnings += validated_keys(dst, org_id)
    _phase(progress, "done", report)
    return result, progress


def _phase(progress: Progress, phase: str, report) -> None:
    now = time.monotonic()
    progress.phase_seconds[progress.phase] = round(now - progress.phase_started, 2)
    progress.phase, progress.phase_started = phase, now
    report(progress)


def validated_keys(dst, org_id: str) -> list[str]:
    """After the switch a failure is no reason to undo the move: it is a warning to act on."""
    try:
        bulk_load.validate_keys(dst)
    except psycopg.Error as exc:
        return [
            f"switched, but the foreign keys of the tenant tables could not be validated (SQLSTATE {exc.sqlstate}); "
            f"fix the rows they name, then run the same tenants move again to validate them"
        ]
    return []


def catch_up(src, dst, org_id: str, progress: Progress, report, gap: pacing.WalGap, until: int = SMALL_BACKLOG) -> None:
    while True:
        progress.backlog = capture.backlog(src, org_id)
        report(progress)
        if progress.backlog <= until:
            return
        capture.replay(src, dst, org_id, limit=pacing.REPLAY_BATCH if gap.yielding() else 5000)
        gap.settle()


def verify_untouched(src, dst, org_id: str, plan, one_side_at_a_time: bool = False) -> None:
    """Every row no write touched since the capture began is the same on both sides. In one
    source snapshot: a row written after it is in neither side's sum (its log entry is not
    visible to the snapshot, so it is not excluded, but the snapshot still sees its old
    state, which the target holds too: no replay touched it yet)."""
    src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    touched = capture.touched(src, org_id)
    with ThreadPoolExecutor(1 if one_side_at_a_time else 2) as pool:  # both sides at once, unless yielding
        for table in TABLES:
            theirs = pool.submit(table_state, dst, table, org_id, excluding=touched[table])
            if one_side_at_a_time:
                theirs.result()
            expected, got = table_state(src, table, org_id, excluding=touched[table]), theirs.result()
            if expected == got:
                continue
            src.rollback()
            raise TransferError(
                f"{table}: the copied rows differ from {plan.source.label} ({got} vs {expected}); "
                "run the move again, or abort it with --abort"
            )
    src.rollback()


def cut_over(state, plan, src, dst, holder, progress: Progress, max_pause: float, report, gap) -> None:
    org = plan.org
    for attempt in range(1, CUTOVER_ATTEMPTS + 1):
        progress.cutover_attempts = attempt
        catch_up(src, dst, org.id, progress, report, gap)
        capture.verify_applied(src, dst, org.id)
        started = time.monotonic()
        with capture.hold(holder, org.id, max_pause) as held:
            if held and _drained(src, dst, org.id, started, max_pause):
                verify_touched(src, dst, org.id, plan)
                with plan.source.connect() as conn:  # from now on a stale writer is refused here
                    fences.install(conn, org.id, plan.target.label)
                switch(state, plan)
                progress.backlog, progress.last_pause_ms = 0, round((time.monotonic() - started) * 1000, 1)
                return
        progress.last_pause_ms = round((time.monotonic() - started) * 1000, 1)  # released: try again
    raise TransferError(
        f"the writes of {org.id} could not be paused long enough to switch after "
        f"{CUTOVER_ATTEMPTS} attempts (TENANT_MOVE_MAX_PAUSE={max_pause:g} s); run the move again"
    )


def _drained(src, dst, org_id: str, started: float, max_pause: float) -> bool:
    while capture.replay(src, dst, org_id):
        if time.monotonic() - started > max_pause:
            return False
    return time.monotonic() - started <= max_pause


def verify_touched(src, dst, org_id: str, plan) -> None:
    """Under the hold: the rows of every change not verified yet are the same on both sides.
    With verify_untouched() and capture.verify_applied() before it, every row is checked (and
    so every count): a row never changed, or its changes were all verified, or it is here."""
    touched = capture.touched(src, org_id, unverified=True)
    for table in TABLES:
        if touched[table] and table_state(src, table, org_id, ids=touched[table]) != table_state(
            dst, table, org_id, ids=touched[table]
        ):
            src.rollback()
            raise TransferError(f"{table}: rows written during the move differ after the last replay")
    src.rollback()


def switch(state, plan) -> None:
    org, org_id = plan.org, plan.org.id  # read before the commit expires it: no new read transaction
    org.database_url = seal(render(plan.target_url), state.fernet) if plan.direction == "dedicated" else None
    db.session.commit()
    state.registry.release(org_id)


def abort(source: WritableDatabase, target: WritableDatabase | None, org_id: str) -> dict:
    """Undo an unfinished move: no capture objects and no fence on the source, and (when the
    target is known) none of the organization's half-copied rows left there, and its indexes
    and foreign keys back if the move had set them aside."""
    removed = 0
    with source.connect() as conn:
        if target is not None:
            with target.connect() as other:
                other.autocommit = True
                removed = delete_org_rows(other, org_id)
                bulk_load.rebuild(conn, other, org_id)
                bulk_load.validate_keys(other)
        capture.stop(conn, org_id)
        lifted = fences.lift(conn, org_id)
    return {"captureRemoved": True, "fenceLifted": lifted, "targetRowsRemoved": removed}
