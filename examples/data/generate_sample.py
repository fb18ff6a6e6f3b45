"""Regenerate the shipped sample data: six months of a hotline's agents, plus a few bad rows.

Who it is for: maintainers. The CSV files beside this script are committed; run it only to
change them (``python examples/data/generate_sample.py``). It is seeded, so the output is
the same on every run. Agent profiles are chosen so the six months show every level action:
promotions, holds, demotions (sustained and immediate), probation conversion, extension,
referral for review and regular status by law at the cap, a data gap, a mid-year joiner, a tie at a review cut-off, a minimum-wage
top-up, a capped deduction and a probation-floor top-up; and the employment calendar: paid annual
leave, sick leave, statutory protected leave, unpaid leave, a part-timer paid by the hour and a
transfer between cities in the middle of a month (two records, each with its dates).
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

HERE = Path(__file__).parent
PERIODS = [f"2026-{m:02d}" for m in range(1, 7)]
SCHEDULED = {
    "2026-01": 21,
    "2026-02": 16,
    "2026-03": 22,
    "2026-04": 21,
    "2026-05": 19,
    "2026-06": 21,
}
COLUMNS = [
    "agent_id", "period", "level", "team", "region", "status", "start_date", "contract_term", "gender",
    "protected_leave",
    "calls_handled", "aht_seconds", "qa_score", "csat", "fcr", "adherence", "absences",
    "discipline_incidents", "complaints", "major_complaints", "fatal_errors", "worked_days",
    "scheduled_days", "night_shifts", "loss_deduction", "contract_wage", "own_contributions",
    "annual_leave_days", "sick_leave_days", "statutory_leave_days", "unpaid_leave_days", "fte", "hours_worked",
    "employment", "from", "to",
]  # fmt: skip
CALENDAR = {
    "annual_leave_days": "0", "sick_leave_days": "0", "statutory_leave_days": "0", "unpaid_leave_days": "0",
    "fte": "1.0", "hours_worked": "0", "employment": "full_time", "from": "", "to": "",
}  # fmt: skip
"""A full-time month with no leave and no change within it."""
TEAM_REGION = {"T1": "tier1", "T2": "tier1", "T3": "tier2", "T4": "tier2", "T5": "tier2"}
# The employee's own social insurance and housing fund contributions for the month, by region
# (tier1 is Shanghai, whose minimum wage excludes them). Illustrative: about 10.5% of a minimum
# contribution base of 7,460 plus 7% housing fund on 2,740 for Shanghai, in whole yuan;
# not checked figures.
OWN_CONTRIBUTIONS = {"tier1": "975", "tier2": "640"}

# profile -> quality per month (0 poor .. 1 outstanding)
PROFILES: dict[str, list[float]] = {
    "steady_low": [0.50] * 6,
    "steady_mid": [0.62] * 6,
    "steady_good": [0.72] * 6,
    "steady_top": [0.95] * 6,
    "climber": [0.62, 0.70, 0.74, 0.80, 0.86, 0.90],
    "fast_climber": [0.80, 0.88, 0.90, 0.95, 0.97, 0.98],
    "decliner": [0.72, 0.70, 0.50, 0.45, 0.48, 0.50],
    "weak": [0.30, 0.28, 0.32, 0.30, 0.29, 0.31],
    "recovering": [0.31, 0.30, 0.60, 0.62, 0.35, 0.62],
    "probation_good": [0.65, 0.70, 0.72, 0.74, 0.75, 0.76],
    "probation_slow": [0.45, 0.50, 0.55, 0.70, 0.72, 0.74],
    "probation_fail": [0.35, 0.38, 0.36, 0.40, 0.37, 0.39],
}


def metrics(rng: random.Random, q: float, period: str) -> dict[str, object]:
    """Field-typical KPI values for an agent of quality ``q`` in ``period``."""

    def n(spread: float) -> float:
        return rng.gauss(0, spread)

    q = max(0.0, min(1.0, q + n(0.015)))
    scheduled = SCHEDULED[period]
    absences = 0 if q > 0.6 or rng.random() < 0.5 else rng.randint(1, 3)
    return {
        "calls_handled": max(0, round(900 + 450 * q + n(25))),
        "aht_seconds": round(330 + (1 - q) * 220 + n(10), 1),
        "qa_score": round(min(100, 60 + 38 * q + n(0.8)), 1),
        "csat": round(min(100, 80 + 16 * q + n(0.6)), 1),
        "fcr": round(min(100, 58 + 30 * q + n(0.8)), 1),
        "adherence": round(min(100, 82 + 16 * q + n(0.5)), 1),
        "absences": absences,
        "worked_days": scheduled - absences,
        "scheduled_days": scheduled,
    }


def build() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The good rows of six months, and the deliberately bad rows."""
    rng = random.Random(20260101)
    roster: list[tuple[str, str, str, str, str]] = []  # id, team, start level, profile, status
    plan = {
        "T1": ["steady_low", "steady_mid", "steady_mid", "steady_good", "steady_good", "steady_top", "climber", "climber", "fast_climber", "decliner", "weak", "probation_good", "probation_slow", "steady_mid", "steady_good", "steady_mid"],
        "T2": ["steady_mid", "steady_mid", "steady_good", "steady_good", "steady_top", "climber", "fast_climber", "decliner", "weak", "recovering", "probation_good", "probation_fail", "steady_low", "steady_mid", "steady_good", "steady_mid"],
        "T3": ["steady_low", "steady_mid", "steady_good", "steady_good", "steady_top", "climber", "climber", "decliner", "weak", "probation_good", "probation_slow", "steady_mid", "steady_mid", "steady_good", "steady_low", "steady_mid"],
        "T4": ["steady_mid", "steady_good", "steady_good", "steady_top", "steady_top", "climber", "fast_climber", "decliner", "weak", "probation_good", "probation_fail", "steady_mid", "steady_low", "steady_good", "steady_mid", "steady_mid"],
        "T5": ["steady_mid", "steady_good", "weak", "climber", "steady_low"],
    }  # fmt: skip
    start_level = {
        "steady_low": "L1", "steady_mid": "L2", "steady_good": "L3", "steady_top": "L5",
        "climber": "L2", "fast_climber": "L3", "decliner": "L3", "weak": "L1", "recovering": "L1",
        "probation_good": "L1", "probation_slow": "L1", "probation_fail": "L1",
    }  # fmt: skip
    number = 1
    for team, profiles in plan.items():
        for profile in profiles:
            status = "probation" if profile.startswith("probation") else "regular"
            roster.append((f"A{number:03d}", team, start_level[profile], profile, status))
            number += 1
    genders = ["F", "M", "F", "F", "M", "undisclosed"]
    rows: list[dict[str, object]] = []
    for index, (agent, team, level, profile, status) in enumerate(roster):
        gender = genders[index % len(genders)]
        for month, period in enumerate(PERIODS):
            if agent == "A020" and period == "2026-03":
                continue  # a data gap: no record for March
            row: dict[str, object] = {
                "agent_id": agent,
                "period": period,
                "level": level if month == 0 else "",
                "team": team,
                "region": TEAM_REGION[team],
                "status": status,
                "gender": gender,
                "protected_leave": "false",
            }
            row.update(metrics(rng, PROFILES[profile][month], period))
            row.update(
                discipline_incidents=0,
                complaints=0,
                major_complaints=0,
                fatal_errors=0,
                night_shifts=0,
                loss_deduction="0",
                contract_wage="4000" if TEAM_REGION[team] == "tier2" else "4200",  # only a probationer's is read
                own_contributions=OWN_CONTRIBUTIONS[TEAM_REGION[team]],
                **CALENDAR,
            )
            if status == "probation":  # hired on 5 January on 3-year contracts: at most 6 months
                row.update(start_date="2026-01-05", contract_term="3y")
            rows.append(row)
    by_key = {(str(r["agent_id"]), str(r["period"])): r for r in rows}
    # Hand-placed events, each one named in the docs' sample walk-through.
    by_key[("A008", "2026-03")]["discipline_incidents"] = 1  # blocks a promotion
    by_key[("A004", "2026-04")]["major_complaints"] = 1  # immediate demotion
    by_key[("A006", "2026-02")]["fatal_errors"] = 1  # QA veto
    by_key[("A015", "2026-05")]["loss_deduction"] = "1500"  # capped at 20%
    by_key[("A014", "2026-02")]["protected_leave"] = "true"  # exempt from review
    for period in PERIODS:
        by_key[("A016", period)]["calls_handled"] = 260  # part-timer: low volume
        key = ("A005", period)
        if key in by_key:
            by_key[key]["night_shifts"] = 6
    # The employment calendar, one event each.
    leave(by_key[("A003", "2026-01")], "annual_leave_days", 3)  # paid as worked, attended
    leave(by_key[("A010", "2026-02")], "sick_leave_days", 5)  # sick pay, its floor
    leave(by_key[("A030", "2026-04")], "statutory_leave_days", 10)  # maternity: a protected month
    leave(by_key[("A031", "2026-05")], "unpaid_leave_days", 2)  # unpaid, not attended
    for period in PERIODS:  # A016 works half time, paid by the hour: 4 hours a scheduled day
        row = by_key[("A016", period)]
        row.update(employment="part_time", fte="0.5", own_contributions="0")
        row["hours_worked"] = str(4 * int(str(row["scheduled_days"])))
    # A002 moves from Shanghai (T1) to Hangzhou (T3) on 16 March: two records for March.
    march = by_key[("A002", "2026-03")]
    second = dict(march)
    march.update(
        {
            "from": "2026-03-01",
            "to": "2026-03-15",
            "scheduled_days": 11,
            "worked_days": 11 - int(str(march["absences"])),
        }
    )
    march.update(
        calls_handled=int(str(march["calls_handled"])) // 2, absences=0 if march["absences"] == 0 else march["absences"]
    )
    second.update(
        {
            "from": "2026-03-16",
            "to": "2026-03-31",
            "team": "T3",
            "region": "tier2",
            "own_contributions": OWN_CONTRIBUTIONS["tier2"],
        }
    )
    second.update(
        scheduled_days=11,
        worked_days=11,
        absences=0,
        calls_handled=int(str(second["calls_handled"])) - int(str(march["calls_handled"])),
    )
    rows.append(second)
    for period in PERIODS[3:]:
        by_key[("A002", period)].update(team="T3", region="tier2", own_contributions=OWN_CONTRIBUTIONS["tier2"])
    # A tie at the bottom of T2 in January: identical KPIs for two weak agents.
    twin = {k: v for k, v in by_key[("A025", "2026-01")].items() if k not in ("agent_id", "gender")}
    by_key[("A026", "2026-01")].update(twin)
    # A mid-year joiner in T3, from April.
    for month, period in enumerate(PERIODS[3:]):
        row = {
            "agent_id": "A070",
            "period": period,
            "level": "L2" if month == 0 else "",
            "team": "T3",
            "region": "tier2",
            "status": "regular",
            "gender": "F",
            "protected_leave": "false",
        }
        row.update(metrics(rng, 0.75, period))
        row.update(
            discipline_incidents=0,
            complaints=0,
            major_complaints=0,
            fatal_errors=0,
            night_shifts=2,
            loss_deduction="0",
            contract_wage="4000",
            own_contributions=OWN_CONTRIBUTIONS["tier2"],
            **CALENDAR,
        )
        rows.append(row)
    rows.sort(key=lambda r: (str(r["period"]), str(r["agent_id"])))

    def bad(agent: str, period: str, **changes: object) -> dict[str, object]:
        row = dict(by_key[("A010", "2026-01")])
        row.update(agent_id=agent, period=period, level="L2")
        row.update(changes)
        return row

    bad_rows = [
        bad("A901", "2026-01", qa_score=""),
        bad("A902", "2026-01", qa_score="105"),
        bad("A903", "2026-01", level="L9"),
        bad("A904", "2026-01", region="tier3"),
        bad("A905", "2026-01"),
        bad("A905", "2026-01", qa_score="88"),
        bad("A906", "2026-01", calls_handled="1,234"),
        bad("A907", "2026-01", absences="-1"),
        bad("", "2026-01"),
        bad("A908", "2026-13"),
    ]
    return rows, bad_rows


def leave(row: dict[str, object], kind: str, days: int) -> None:
    """``days`` of leave of ``kind`` in ``row``'s month, taken from the days worked."""
    row[kind] = str(days)
    row["worked_days"] = int(str(row["worked_days"])) - days


def write(path: Path, rows: list[dict[str, object]]) -> None:
    """Write rows as CSV with the fixed column order."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Write the January, February and six-month sample files."""
    rows, bad_rows = build()
    january = [r for r in rows if r["period"] == "2026-01"]
    write(HERE / "agents-2026-01.csv", january + bad_rows)
    # February as HR would send it the month after: no starting levels (they come from the
    # state carried out of January) and no bad rows. The tutorial chains it with --state-in.
    write(HERE / "agents-2026-02.csv", [r for r in rows if r["period"] == "2026-02"])
    write(HERE / "agents-2026h1.csv", rows + bad_rows)
    # January as corrected after it was closed: a QA appeal upheld for A001 (78.2 to 84.6). The
    # how-to "Correct a closed month" runs it against a ledger in which January is closed.
    corrected = [dict(r, qa_score=84.6) if r["agent_id"] == "A001" else r for r in january]
    write(HERE / "agents-2026-01-corrected.csv", corrected + bad_rows)
    (HERE / "hr-export-2026-01.csv").write_bytes(hr_export_bytes())
    (HERE / "agents-2026-01.xlsx").write_bytes(workbook_bytes())


HR_HEADERS = {
    "agent_id": "工号", "period": "月份", "level": "级别", "team": "班组", "region": "城市级别", "status": "员工状态",
    "start_date": "入职日期", "contract_term": "合同期限", "gender": "性别", "protected_leave": "法定保护期",
    "calls_handled": "接听量", "aht_seconds": "平均处理时长", "qa_score": "质检得分", "csat": "客户满意度",
    "fcr": "首次解决率", "adherence": "排班遵从率", "absences": "缺勤天数", "discipline_incidents": "违纪次数",
    "complaints": "有效投诉", "major_complaints": "重大有责投诉", "fatal_errors": "质检致命项",
    "worked_days": "出勤天数", "scheduled_days": "应出勤天数", "night_shifts": "夜班次数",
    "loss_deduction": "赔偿扣款", "contract_wage": "合同工资", "own_contributions": "个人缴纳社保和公积金",
    "annual_leave_days": "带薪年休假天数", "sick_leave_days": "病假天数", "statutory_leave_days": "法定保护期假天数",
    "unpaid_leave_days": "事假天数", "fte": "工时比例", "hours_worked": "工作小时数", "employment": "用工形式",
    "from": "起始日", "to": "截止日",
}  # fmt: skip
LEVEL_NAMES = {"L1": "一星坐席", "L2": "二星坐席", "L3": "三星坐席", "L4": "四星坐席", "L5": "五星坐席"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def hr_export_bytes() -> bytes:
    """January's sample as a Chinese HR system exports it: GBK, Chinese headers, 2026年1月, level names, a name column.

    The how-to "Use an HR export as it comes" reads it (``hr-export-2026-01.csv``).
    """
    with (HERE / "agents-2026-01.csv").open(encoding="utf-8", newline="") as handle:
        header, *body = list(csv.reader(handle))
    rows = [["工号", "姓名", *(HR_HEADERS[h] for h in header[1:])]]
    for number, row in enumerate(body):
        if len(row) != len(header):
            continue
        cells = dict(zip(header, row, strict=True))
        if cells["period"] == "2026-01":
            cells["period"] = "2026年1月"
        cells["level"] = LEVEL_NAMES.get(cells["level"], cells["level"])
        name = SURNAMES[number % len(SURNAMES)] + GIVEN[(number * 7) % len(GIVEN)]
        rows.append([cells["agent_id"], name, *(cells[h] for h in header[1:])])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # Excel's line ends
    return buffer.getvalue().encode("gbk")


WORKBOOK_TEXT = {
    "agent_id", "level", "team", "region", "status", "start_date", "contract_term", "gender", "employment", "from", "to",
}  # fmt: skip
"""Columns the workbook holds as text cells; other cells that read as numbers are number cells."""
WORKBOOK_TIME = (2026, 1, 31, 0, 0, 0)
"""The time stamped on every part of the workbook, so that its bytes are the same on every run."""


def workbook_bytes() -> bytes:
    """January's sample as an Excel workbook (sheet ``2026-01``): numbers as numbers, the month as a date cell.

    The how-to "Use an HR export as it comes" reads it (``agents-2026-01.xlsx``). Needs openpyxl
    (in the dev extra); the zip's time stamps and the document's dates are fixed.
    """
    import datetime as dt
    import re
    import zipfile

    import openpyxl

    with (HERE / "agents-2026-01.csv").open(encoding="utf-8", newline="") as handle:
        header, *body = list(csv.reader(handle))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "2026-01"
    sheet.append(header)
    for row in body:
        cells: list[object] = []
        for column, text in zip(header, row, strict=False):
            if column == "period" and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text):
                cells.append(dt.datetime(int(text[:4]), int(text[5:]), 1))
            elif column not in WORKBOOK_TEXT and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
                cells.append(float(text))
            else:
                cells.append(text or None)
        sheet.append(cells)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "yyyy-mm"
    book.properties.creator = "tierpay examples/data/generate_sample.py"
    written = io.BytesIO()
    book.save(written)
    fixed = io.BytesIO()
    stamp = "2026-01-31T00:00:00Z"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            target.writestr(zipfile.ZipInfo(item.filename, WORKBOOK_TIME), data, zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


if __name__ == "__main__":
    main()
