"""The Representative Performance report computed independently of the tool.

Written plainly, deal by deal, from docs/metrics.md, in Python: the source rows are read
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
    """[start, end) of a fixed period SPEC (YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD, and the
    ISO week YYYY-Www) as aware datetimes: midnights in the IANA zone tz."""
    parts = spec.split("-")
    year = int(parts[0])
    if len(parts) == 2 and parts[1][:1] in ("W", "w"):
        monday = dt.date.fromisocalendar(year, int(parts[1][1:]), 1)
        nxt = monday + dt.timedelta(days=7)
        return (_midnight(monday.year, monday.month, monday.day, tz),
                _midnight(nxt.year, nxt.month, nxt.day, tz))
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
    return {key: _metric_texts(acc.get(key, _zero_acc())) for key in keys}


def _zero_acc():
    return {"created": 0, "won": 0, "lost": 0, "amount": Decimal(0), "seconds": Decimal(0)}


def _metric_texts(a):
    """The 7 metric columns of one accumulator, as text (None = NULL)."""
    closed = a["won"] + a["lost"]
    return [
        str(a["created"]), str(a["won"]), str(a["lost"]),
        _text(a["amount"], 2),
        _text(a["amount"] / a["won"], 2) if a["won"] else None,
        _text(a["seconds"] / (closed * 86400), 4) if closed else None,
        _text(Decimal(a["won"]) / Decimal(closed), 4) if closed else None,
    ]


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


# ---- the manager's view: totals over distinct deals, comparison periods, titles ----------
#
# Written from the interface of issue 11, as plainly as the rest of this file and without
# looking at the SQL that computes the same in the database.

TYPES = ("USER", "GROUP")
COMPARE_MODES = ("previous", "year-ago", "none")

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"


def _slots(deal, kind):
    """The principal ids of one type a deal is attributed to (owner, assignee), as a set."""
    if kind == "USER":
        ids = (deal["owner_user"], deal["assignee_user"])
    else:
        ids = (deal["owner_group"], deal["assignee_group"])
    return {pid for pid in ids if pid is not None}


def expected_totals(deals, stage_rows, tenant, start, end, principals=None):
    """The run's totals: {type: [created, won, lost, total, avg_won, avg_days, win_rate]}
    as text, one entry per principal type present in the run's fact rows.

    A deal of the tenant created in [start, end) is in the total of type K when it is
    attributed to at least one of the run's principals of type K: with principals=None
    (all principals) to any user (resp. group) at all; with a list of (type, id), to at
    least one listed principal of type K in its owner or assignee slot. Each deal counts
    once per type, however many of the run's principals it is attributed to. Won, lost,
    amounts, days and rates follow the per-principal rules (close_of, NULL amount = 0).

    Types present: with all principals the types that have at least one attributed deal
    (a fact row exists exactly for those); with a list, every type listed (a listed
    principal always gets a fact row, zeros included)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    asked = None if principals is None else set(principals)
    present = set() if asked is None else {kind for kind, _ in asked}
    acc = {kind: _zero_acc() for kind in TYPES}
    for deal in deals:
        if deal["tenant"] != tenant or not (start <= deal["created_at"] < end):
            continue
        close = close_of(deal, stage_rows.get(deal["id"], []), tenant, start, end)
        for kind in TYPES:
            slots = _slots(deal, kind)
            if asked is None:
                counted = bool(slots)
            else:
                counted = any((kind, pid) in asked for pid in slots)
            if not counted:
                continue
            if asked is None:
                present.add(kind)
            a = acc[kind]
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
    return {kind: _metric_texts(acc[kind]) for kind in sorted(present)}


def sum_of_rows(metrics, kind):
    """(created, won, lost, amount) summed over the per-principal rows of one type: what a
    manager gets by summing a column, which is not the total when deals are shared."""
    rows = [m for (k, _), m in metrics.items() if k == kind]
    return (sum(int(m[0]) for m in rows), sum(int(m[1]) for m in rows),
            sum(int(m[2]) for m in rows), sum((Decimal(m[3]) for m in rows), Decimal(0)))


def expected_comparison_metrics(deals, stage_rows, tenant, compare_start, compare_end, principals=None):
    """The fact rows of the comparison run: the per-principal report of the comparison
    period, with the same principal selection as the main run (all, or the same list)."""
    return expected_metrics(deals, stage_rows, tenant, compare_start, compare_end, principals)


# ---- periods: kinds, comparison periods, labels and words ---------------------------------

def period_kind(spec):
    """'year', 'quarter', 'month', 'week' or 'day' of a fixed period spec."""
    parts = spec.split("-")
    if len(parts) == 1:
        return "year"
    if len(parts) == 3:
        return "day"
    if parts[1][:1] in ("Q", "q"):
        return "quarter"
    if parts[1][:1] in ("W", "w"):
        return "week"
    return "month"


def _minus_one_year(day):
    """The same calendar date a year earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def compare_spec(spec, mode):
    """The spec (= the label) of the comparison period of a fixed period spec, or None for
    mode 'none'. previous: the period of the same kind just before; year-ago: the same
    period a year earlier (a week: 52 weeks earlier, so the same weekday alignment; a day:
    the same calendar date)."""
    if mode == "none":
        return None
    if mode not in ("previous", "year-ago"):
        raise ValueError(mode)
    kind = period_kind(spec)
    parts = spec.split("-")
    year = int(parts[0])
    if kind == "year":
        return f"{year - 1:04d}"
    if kind == "quarter":
        q = int(parts[1][1:])
        if mode == "year-ago":
            return f"{year - 1:04d}-Q{q}"
        return f"{year - 1:04d}-Q4" if q == 1 else f"{year:04d}-Q{q - 1}"
    if kind == "month":
        month = int(parts[1])
        if mode == "year-ago":
            return f"{year - 1:04d}-{month:02d}"
        return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
    if kind == "week":
        monday = dt.date.fromisocalendar(year, int(parts[1][1:]), 1)
        other = monday - dt.timedelta(weeks=1 if mode == "previous" else 52)
        iso = other.isocalendar()
        return f"{iso[0]:04d}-W{iso[1]:02d}"
    day = dt.date(year, int(parts[1]), int(parts[2]))
    other = day - dt.timedelta(days=1) if mode == "previous" else _minus_one_year(day)
    return other.isoformat()


def comparison_bounds(spec, tz, mode):
    """[start, end) of the comparison period of a fixed period spec (None for 'none'):
    local midnights in tz, from zoneinfo."""
    other = compare_spec(spec, mode)
    return None if other is None else period_bounds(other, tz)


def _wall(instant, tz):
    return instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _local(wall, tz):
    return wall.replace(tzinfo=ZoneInfo(tz))


def range_comparison_bounds(start, end, tz, mode):
    """The comparison of a --from/--to range (None for 'none'). previous: the range shifted
    back by its own length, so it ends where the range starts; year-ago: each bound a year
    earlier. Both as wall-clock time in tz (the length of a range across a DST change is
    its wall-clock length here; the tests use ranges where the two readings agree)."""
    if mode == "none":
        return None
    s, e = _wall(start, tz), _wall(end, tz)
    if mode == "previous":
        return _local(s - (e - s), tz), start
    if mode == "year-ago":
        def back(w):
            return dt.datetime.combine(_minus_one_year(w.date()), w.time())
        return _local(back(s), tz), _local(back(e), tz)
    raise ValueError(mode)


def compact(instant, tz):
    """YYYYMMDDTHHMMSS, wall-clock in tz: the {from}/{to} tokens and range labels."""
    return _wall(instant, tz).strftime("%Y%m%dT%H%M%S")


def range_label(start, end, tz):
    return f"{compact(start, tz)}_{compact(end, tz)}"


def _day_words(day):
    return f"{day.day} {MONTH_ABBR[day.month - 1]} {day.year}"


def period_title(spec):
    """The period in words: 'October 2026', 'Q3 2026', 'Week 41, 2026', '5 Oct 2026', '2026'."""
    kind = period_kind(spec)
    parts = spec.split("-")
    year = int(parts[0])
    if kind == "year":
        return str(year)
    if kind == "quarter":
        return f"Q{int(parts[1][1:])} {year}"
    if kind == "month":
        return f"{MONTH_NAMES[int(parts[1]) - 1]} {year}"
    if kind == "week":
        return f"Week {int(parts[1][1:])}, {year}"
    return _day_words(dt.date(year, int(parts[1]), int(parts[2])))


def range_title(start, end, tz):
    """A range in words: '1 Oct 2026 – 15 Oct 2026' with the inclusive last day when both
    bounds are local midnights in tz; otherwise both bounds with HH:MM, the end exclusive:
    '1 Oct 2026 08:30 – 15 Oct 2026 18:00'."""
    s, e = _wall(start, tz), _wall(end, tz)
    midnight = dt.time(0, 0)
    if s.time() == midnight and e.time() == midnight:
        return f"{_day_words(s.date())} {EN_DASH} {_day_words(e.date() - dt.timedelta(days=1))}"
    return f"{_day_words(s.date())} {s:%H:%M} {EN_DASH} {_day_words(e.date())} {e:%H:%M}"


# ---- names ----------------------------------------------------------------------------

def fallback_name(kind, principal_id):
    """What a principal without a name shows: '[user 1a2b3c4d]' / '[team 1a2b3c4d]'."""
    word = {"USER": "user", "GROUP": "team"}[kind]
    return f"[{word} {principal_id.lower()[:8]}]"


def tenant_fallback(tenant_id):
    return f"[tenant {tenant_id.lower()[:8]}]"
