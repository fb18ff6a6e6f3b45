"""The employment calendar of a ruleset: its cross-references checked, and the values it adds.

A ruleset's ``calendar:`` says how each kind of leave counts, how part time and changes within a
month are read. What it means for the stages is written as derived values the ruleset can read
like its own, so every criterion, trace and statement shows them:

- ``paid_days``: days worked plus leave paid as worked, what pay is prorated by;
- ``attended_days``: days worked plus leave that counts as attended, for attendance bonuses;
- ``available_days``: days scheduled less leave excused from volume;
- ``on_protected_leave``: whether the month holds any statutory protected leave;
- one value per ``calendar.volume`` entry: the volume scaled to the days available and full time.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tierpay.ruleset.model import Calendar, Derived, Ruleset

PathKey = tuple[str | int, ...]
Report = Callable[[PathKey, str], None]

SICK_FLOOR_PERCENT = Decimal(80)
"""The least share of the minimum wage sick pay may fall to, in percent (劳部发〔1995〕309号 art. 59)."""

ADDED = ("paid_days", "attended_days", "available_days", "on_protected_leave")
"""The names the calendar adds as derived values."""


def check_calendar(r: Ruleset, problem: Report) -> bool:
    """Report every reference of ``r.calendar`` that does not hold; True when there is none."""
    cal = r.calendar
    if cal is None:
        return True
    before: list[str] = []

    def report(path: PathKey, message: str) -> None:
        before.append(message)
        problem(("calendar", *path), message)

    metric_names = set(r.metrics)
    added = {*ADDED, *cal.volume.values()}
    for name in sorted(added):
        if name in r.metrics or name in r.attributes or name in r.derived:
            where = "calendar.volume" if name in cal.volume.values() else "the calendar"
            report((), f"{name!r} is a value {where} adds: the ruleset may not declare it too")
    proration = r.pay.proration if r.pay is not None else None
    if cal.leave or cal.volume or cal.sick_pay:
        for key, days in (("worked", cal.worked), ("scheduled", cal.scheduled)):
            if days is None:
                report((), f"leave and volume are counted in days: name the metric of days {key} in {key}")
            elif days not in metric_names:
                report((key,), f"{days!r} is not a declared metric")
        if proration is None:
            report((), "leave is paid by prorating days: declare pay.proration (worked: paid_days)")
    for name, leave in cal.leave.items():
        if name not in metric_names:
            report(("leave", name), f"{name!r} is not a declared metric (the days of this leave in the month)")
        elif r.metrics[name].optional:
            report(("leave", name), f"{name!r} is optional: leave days need a value or a default (0)")
        if leave.paid == "sick" and cal.sick_pay is None:
            report(("leave", name, "paid"), "leave paid as sick needs calendar.sick_pay")
    if cal.sick_pay is not None:
        floor = cal.sick_pay.floor_percent
        if floor < SICK_FLOOR_PERCENT:
            report(
                ("sick_pay", "floor_percent"),
                f"floor_percent {floor} is below {SICK_FLOOR_PERCENT}: sick pay may not be below 80% of the "
                "minimum wage (劳部发〔1995〕309号 art. 59)",
            )
        lines = [ln.id for ln in r.pay.lines] if r.pay is not None else []
        for i, line_id in enumerate(cal.sick_pay.of):
            if line_id not in lines:
                report(("sick_pay", "of", i), f"{line_id!r} is not a pay line ({', '.join(lines)})")
        taken = [ln.id for ln in r.pay.lines] + [d.id for d in r.pay.deductions] if r.pay is not None else []
        if "sick_pay" in taken:
            report(("sick_pay",), "sick pay is a line of its own, `sick_pay`: give the ruleset's line another id")
        if not any(leave.paid == "sick" for leave in cal.leave.values()):
            report(("sick_pay",), "no leave is paid as sick: mark one `paid: sick`")
    for name, value in cal.volume.items():
        if name not in metric_names:
            report(("volume", name), f"{name!r} is not a declared metric")
        elif not value:
            report(("volume", name), "name the value that holds the scaled volume")
    part = cal.part_time
    if part is not None:
        if part.fte is not None:
            fte = r.metrics.get(part.fte)
            if fte is None:
                report(("part_time", "fte"), f"{part.fte!r} is not a declared metric")
            elif fte.min is None or fte.min <= 0 or fte.max is None or fte.max > 1:
                report(
                    ("part_time", "fte"),
                    f"{part.fte!r} is a share of full time: declare it with a min above 0 and a max of 1 at most",
                )
        if part.hours is not None and part.hours not in metric_names:
            report(("part_time", "hours"), f"{part.hours!r} is not a declared metric")
        if part.hourly is not None:
            if part.hours is None:
                report(("part_time", "hourly"), "agents paid by the hour need the hours worked: name them in hours")
            attr = r.attributes.get(part.hourly.attribute)
            if attr is None:
                report(("part_time", "hourly", "attribute"), f"{part.hourly.attribute!r} is not a declared attribute")
            elif attr.values is not None and part.hourly.value not in attr.values:
                report(
                    ("part_time", "hourly", "value"),
                    f"{part.hourly.value!r} is not an allowed value of {part.hourly.attribute}",
                )
            floors = r.pay.floors if r.pay is not None else None
            if floors is None or floors.minimum_wage is None:
                report(("part_time", "hourly"), "the hourly minimum wage needs pay.floors.minimum_wage")
    seg = cal.segments
    if seg is not None:
        for key, name in (("start", seg.start), ("end", seg.end)):
            attr = r.attributes.get(name)
            if attr is None or attr.type != "date":
                report(("segments", key), f"{name!r} is not a declared attribute of type date (a segment's dates)")
        for i, name in enumerate(seg.sum):
            if name not in metric_names:
                report(("segments", "sum", i), f"{name!r} is not a declared metric")
    protected = [n for n, leave in cal.leave.items() if leave.protected]
    if protected:
        shield = r.protection
        if shield is None or "on_protected_leave" not in shield.when:
            report(
                ("leave", protected[0], "protected"),
                f"{protected[0]} is protected leave: protection.when must read on_protected_leave "
                '(`protection: {when: "on_protected_leave"}`)',
            )
    return not before


def with_calendar(r: Ruleset) -> Ruleset:
    """``r`` with the values its calendar adds as derived values (``r`` itself without a calendar)."""
    cal = r.calendar
    if cal is None or cal.worked not in r.metrics or cal.scheduled not in r.metrics:
        return r
    assert cal.worked is not None
    assert cal.scheduled is not None
    worked, scheduled = cal.worked, cal.scheduled
    taken = {*r.metrics, *r.attributes, *r.derived}
    leaves = {n: leave for n, leave in cal.leave.items() if n in r.metrics}  # the rest are reported
    added: dict[str, Derived] = {}

    def plus(base: str, names: list[str], sign: str = "+") -> str:
        return " ".join([base, *(f"{sign} {n}" for n in names)])

    paid = [n for n, leave in leaves.items() if leave.paid == "full"]
    attended = [n for n, leave in leaves.items() if leave.attendance]
    excused = [n for n, leave in leaves.items() if leave.volume]
    protected = [n for n, leave in leaves.items() if leave.protected]
    added["paid_days"] = Derived(expr=plus(worked, paid), label={"en": "Days paid as worked", "zh": "计薪天数"})
    added["attended_days"] = Derived(expr=plus(worked, attended), label={"en": "Days attended", "zh": "视同出勤天数"})
    added["available_days"] = Derived(
        expr=plus(scheduled, excused, "-"), label={"en": "Days available for volume", "zh": "可计产量天数"}
    )
    added["on_protected_leave"] = Derived(
        expr=" or ".join(f"{n} > 0" for n in protected) or "false",
        label={"en": "Statutory protected leave this month", "zh": "本月有法定保护期假"},
    )
    fte = cal.part_time.fte if cal.part_time is not None else None
    fte = fte if fte in r.metrics else None
    for metric, name in cal.volume.items():
        if metric not in r.metrics or not name:
            continue
        share = f"available_days / {scheduled}" + (f" * {fte}" if fte else "")
        added[name] = Derived(
            expr=f"(available_days > 0 and {scheduled} > 0) ? {metric} / ({share}) : {metric}",
            label={
                "en": f"{_label(r, metric, 'en')} per day available, at full time",
                "zh": f"{_label(r, metric, 'zh')}（按可计天数和全时折算）",
            },
        )
    added = {n: d for n, d in added.items() if n not in taken}  # a clash is reported
    return r.model_copy(update={"derived": {**r.derived, **added}})


def _label(r: Ruleset, metric: str, lang: str) -> str:
    """A metric's label in ``lang``, else its id."""
    label = r.metrics[metric].label
    text = label.get(lang) if isinstance(label, dict) else label
    return text or metric


def summed(cal: Calendar, r: Ruleset) -> list[str]:
    """The metrics added up over a month's segments: days, leave, hours, deductions and those listed."""
    names: list[str] = [n for n in (cal.worked, cal.scheduled) if n is not None]
    if r.pay is not None and r.pay.proration is not None:
        names += [r.pay.proration.worked, r.pay.proration.scheduled]
    names += list(cal.leave)
    if cal.part_time is not None and cal.part_time.hours is not None:
        names.append(cal.part_time.hours)
    if r.pay is not None:
        names += [d.metric for d in r.pay.deductions]
    names += cal.segments.sum if cal.segments is not None else []
    return [n for n in dict.fromkeys(names) if n in r.metrics]


def calendar_metrics(r: Ruleset) -> set[str]:
    """The metrics the calendar reads: leave, days, FTE, hours, the volumes it scales, the ones segments add up."""
    cal = r.calendar
    if cal is None:
        return set()
    names = {*cal.leave, *cal.volume, *summed(cal, r)}
    if cal.part_time is not None:
        names |= {n for n in (cal.part_time.fte, cal.part_time.hours) if n is not None}
    return names


def unpaid_leave_warning(r: Ruleset) -> str | None:
    """Why leave declared paid as worked would go unpaid: pay is prorated by something other than ``paid_days``."""
    cal, pay = r.calendar, r.pay
    if cal is None or pay is None or pay.proration is None or pay.proration.worked == "paid_days":
        return None
    paid = [n for n, leave in cal.leave.items() if leave.paid == "full"]
    if not paid:
        return None
    return (
        f"{', '.join(paid)} {'is' if len(paid) == 1 else 'are'} paid as worked (in paid_days), but pay is prorated by "
        f"{pay.proration.worked}: prorate by paid_days, or the leave is paid as days not worked"
    )
