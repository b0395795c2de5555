"""The Representative Performance report computed independently of the tool.

Written plainly, deal by deal, from SPEC section 3, in Python: the source rows are read
raw with psycopg2 (timestamps as aware datetimes, amounts as Decimal), period bounds
come from zoneinfo, arithmetic is Decimal with ROUND_HALF_UP (half away from zero, like
PostgreSQL's numeric round). Nothing here is taken from sql/report_insert.sql.
"""
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

COLUMNS = [
    "run_id", "tenant_id", "principal_type", "principal_id", "period_start", "period_end",
    "deals_created_count", "deals_closed_won_count", "deals_closed_lost_count",
    "total_amount_won", "avg_deal_size_won", "avg_time_to_close_days", "win_rate",
]

UTC = dt.timezone.utc
WON = "DONE_SUCCESS"
LOST = "DONE_FAILED"


# ---- period boundaries ------------------------------------------------------------

def _midnight(year, month, day, tz):
    return dt.datetime(year, month, day, tzinfo=ZoneInfo(tz))


def _next_month(year, month):
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_bounds(spec, tz):
    """[start, end) of a fixed period SPEC (YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD) as
    aware datetimes: midnights in the IANA zone tz."""
    parts = spec.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return _midnight(year, 1, 1, tz), _midnight(year + 1, 1, 1, tz)
    if parts[1].startswith("Q"):
        q = int(parts[1][1:])
        first = 3 * (q - 1) + 1
        ey, em = _next_month(year, first + 2)
        return _midnight(year, first, 1, tz), _midnight(ey, em, 1, tz)
    month = int(parts[1])
    if len(parts) == 2:
        ey, em = _next_month(year, month)
        return _midnight(year, month, 1, tz), _midnight(ey, em, 1, tz)
    day = dt.date(year, month, int(parts[2]))
    nxt = day + dt.timedelta(days=1)
    return _midnight(day.year, day.month, day.day, tz), _midnight(nxt.year, nxt.month, nxt.day, tz)


def range_bounds(from_text, to_text, tz):
    """[from, to) of a --from/--to pair: ISO text, with an offset or local to tz."""
    def one(text):
        t = dt.datetime.fromisoformat(text)
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZoneInfo(tz))
        return t
    return one(from_text), one(to_text)


def iso_in_zone(instant, tz):
    """The CSV form of a timestamp: 2026-03-01T00:00:00-05:00 (microseconds only if any)."""
    return instant.astimezone(ZoneInfo(tz)).isoformat()


# ---- source data -------------------------------------------------------------------

def load_source(conn):
    """Every deal and stage row of the database, raw. Timestamps are made UTC, so that
    comparing and subtracting them never uses Python's wall-clock arithmetic (which it
    does for two datetimes sharing a tzinfo)."""
    with conn.cursor() as cur:
        cur.execute("SELECT stage.id::text, stage.stage_state FROM dyno_crm.pipeline_stage AS stage")
        stage_state = dict(cur.fetchall())
        cur.execute(
            "SELECT id::text, tenant_id::text, amount, created_at, owned_by_user_id::text,"
            " assigned_user_id::text, owned_by_group_id::text, assigned_group_id::text"
            " FROM dyno_crm.deal")
        deals = [dict(zip(("id", "tenant", "amount", "created_at", "owner_user", "assignee_user",
                           "owner_group", "assignee_group"), r)) for r in cur.fetchall()]
        for d in deals:
            d["created_at"] = d["created_at"].astimezone(UTC)
        cur.execute(
            "SELECT deal_id::text, tenant_id::text, pipeline_stage_id::text, entered_at, is_current"
            " FROM dyno_crm.deal_pipeline_stage_state")
        rows = {}
        for deal_id, tenant, stage_id, entered_at, is_current in cur.fetchall():
            rows.setdefault(deal_id, []).append({
                "tenant": tenant, "state": stage_state.get(stage_id),
                "entered_at": entered_at.astimezone(UTC), "is_current": is_current})
    return deals, rows


# ---- the report --------------------------------------------------------------------

def principals_of(deal):
    """The principals a deal is attributed to; a set, so owner = assignee counts once."""
    out = set()
    for kind, a, b in (("USER", deal["owner_user"], deal["assignee_user"]),
                       ("GROUP", deal["owner_group"], deal["assignee_group"])):
        for pid in (a, b):
            if pid is not None:
                out.add((kind, pid))
    return out


def close_of(deal, stage_rows, tenant, start, end):
    """(entered_at, won) of the deal's close in [start, end), or None."""
    best = None
    for r in stage_rows:
        if r["tenant"] != tenant or not r["is_current"]:
            continue
        if r["state"] not in (WON, LOST):
            continue
        if not (start <= r["entered_at"] < end):
            continue
        won = r["state"] == WON
        # earliest entered_at; on a tie the won row wins
        if best is None or r["entered_at"] < best[0] or (r["entered_at"] == best[0] and won):
            best = (r["entered_at"], won)
    return best


def _seconds(delta):
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1000000)


def _text(value, places):
    if value is None:
        return None
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q.is_zero():
        q = q.copy_abs()  # PostgreSQL prints no negative zero
    return format(q, "f")


def expected_metrics(deals, stage_rows, tenant, start, end, principals=None):
    """{(type, id): [created, won, lost, total, avg_won, avg_days, win_rate]} as text
    (None = NULL). principals: list of (type, id) asked for, or None for all."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    acc = {}
    for deal in deals:
        if deal["tenant"] != tenant:
            continue
        if not (start <= deal["created_at"] < end):
            continue
        close = close_of(deal, stage_rows.get(deal["id"], []), tenant, start, end)
        for p in principals_of(deal):
            a = acc.setdefault(p, {"created": 0, "won": 0, "lost": 0, "amount": Decimal(0),
                                   "seconds": Decimal(0)})
            a["created"] += 1
            if close is None:
                continue
            closed_at, won = close
            if won:
                a["won"] += 1
                a["amount"] += deal["amount"] if deal["amount"] is not None else Decimal(0)
            else:
                a["lost"] += 1
            a["seconds"] += _seconds(closed_at - deal["created_at"])

    keys = sorted(acc) if principals is None else sorted(set(principals))
    out = {}
    for key in keys:
        a = acc.get(key, {"created": 0, "won": 0, "lost": 0, "amount": Decimal(0), "seconds": Decimal(0)})
        closed = a["won"] + a["lost"]
        out[key] = [
            str(a["created"]), str(a["won"]), str(a["lost"]),
            _text(a["amount"], 2),
            _text(a["amount"] / a["won"], 2) if a["won"] else None,
            _text(a["seconds"] / (closed * 86400), 4) if closed else None,
            _text(Decimal(a["won"]) / Decimal(closed), 4) if closed else None,
        ]
    return out


def expected_rows(conn, run_id, tenant, start, end, principals=None):
    """Full expected fact rows in report order: [run_id, tenant, type, id, start, end,
    7 metrics], start/end as aware datetimes (instants)."""
    deals, stage_rows = load_source(conn)
    metrics = expected_metrics(deals, stage_rows, tenant, start, end, principals)
    return [[run_id, tenant, kind, pid, start, end] + m for (kind, pid), m in metrics.items()]


def as_csv_rows(rows, tz):
    """Expected rows as the CSV gives them: timestamps as ISO text in tz, NULL as ''."""
    return [[iso_in_zone(v, tz) if isinstance(v, dt.datetime) else ("" if v is None else v)
             for v in row] for row in rows]
