"""A whole period's decisions as JSON text, written piece by piece for all rows at once.

``DecisionJson`` writes one decision from its fields (``decision_fields``), and gathering
those fields row by row (numpy scalars, the exact row, the score, the review, the sentences)
cost two thirds of writing a large outcome. Here each piece of a decision is made for every
decided row of the period together: numbers from the run's arrays, and each piece that takes
few distinct forms (a level's sentence, a score part, a review's verdict, a derived value)
rendered once per form, by the same code ``decision_fields`` uses, then gathered by row.

The text is the same as ``DecisionJson.text(decision_fields(run, i))`` for every row
(``tests/test_period_json.py``); a period this module does not cover (scores computed row by
row by the definition, a derived value some row failed at) returns None and is written row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from pydantic_core import to_json

from tierpay.engine.columns import ROW, SOURCE, TEXT
from tierpay.engine.decision_json import _FIELD, _INNER, _PART, DEPTH, DecisionJson
from tierpay.engine.decisions import _record_notes, _review
from tierpay.engine.levels import ACTIONS, NONE, REASONS, Facts, why
from tierpay.engine.scorecard import CONTEXT, absolute, percentile_share
from tierpay.engine.state import due_of
from tierpay.ruleset.model import PercentileNorm

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

_CLOSE = " " * DEPTH + "}"
_STAND_IN = "\x00"  # a review's cohort while its text is made, for the row's own cohort to replace


def rule_name(run: PeriodRun) -> str:
    """The value the period's review ranks by."""
    assert run.model.review is not None
    return run.model.review.rank_by


def period_texts(run: PeriodRun, rows: list[int], writer: DecisionJson, shared: dict[Any, Any]) -> list[str] | None:
    """The JSON text of each of ``rows`` (decided rows of ``run``), or None when not covered.

    ``writer`` is the period's; ``shared`` keeps the pieces that depend on the ruleset alone
    (score parts, review verdicts, derived values), for every period decided by ``run.ruleset``.
    """
    if run.score is not None and run.score.exact is not None:
        return None
    if not rows:
        return []
    try:
        return _Texts(run, np.asarray(rows, dtype=np.int64), writer, shared).all()
    except _Uncovered:
        return None
    finally:
        for i in rows:  # a decision is written once: keep no exact row behind
            run.cache.pop(i, None)


class _Uncovered(Exception):
    """A piece this module does not write for the whole period at once."""


class _Texts:
    """The pieces of one period's decision texts, each a list with one text per row."""

    def __init__(self, run: PeriodRun, rows: Any, writer: DecisionJson, shared: dict[Any, Any]) -> None:
        self.run, self.rows, self.w, self.shared = run, rows, writer, shared
        self.list = rows.tolist()
        levels = run.levels_out
        assert levels is not None
        self.levels = levels
        self.j = run.level_pos[rows]
        self.ids = [writer._string(i) for i in run.ruleset.level_ids]
        self._metrics: dict[str, list[str]] = {}

    def all(self) -> list[str]:
        run, w, s = self.run, self.w, self.w._string
        take = self._take
        agents = [s(a) for a in _pick(run.column("agent_id"), self.list)]
        sources = run.column(SOURCE)
        source = [s(x) for x in _pick(sources, self.list)] if sources else [s(run.source)] * len(self.list)
        row_no = [str(int(x)) for x in _pick(run.column(ROW), self.list)]
        st = self.levels.state
        level_before = take(self.ids, run.prior.level[self.rows])
        level = take(self.ids, st.level[self.j])
        qualified = take(self.ids, self.levels.qualified[self.j])
        action = take([s(a) for a in ACTIONS], self.levels.action[self.j])
        reason = take([s(r) for r in REASONS], self.levels.reason[self.j])
        probation = take(["false", "true"], st.on_probation[self.j].astype(np.int64))
        grades = [s(g.grade) for g in run.model.grades] + ["null"]
        grade = take(grades, run.grade_index[self.rows])
        if run.coefficient is not None:
            codes, table, _ = run.coefficient
            coefficient = take([f'"{c}"' for c in table], codes[self.rows])
        else:
            coefficient = ["null"] * len(self.list)
        score, score_notes = self._scores()
        values, shown = self._values(grade, coefficient)
        reviews, review_state = self._reviews(shown)
        pay = self._pay()
        checks = [w._checks_text(run.checks_of(i)) for i in self.list]
        notes = [
            w._strings_text([*_record_notes(run, i), *extra], _FIELD)
            for i, extra in zip(self.list, score_notes, strict=True)
        ]
        state = self._states(agents, level, review_state)
        stamp = w._model(run.stamp, _FIELD)
        period = s(run.period)
        why_text = self._why()
        f = _FIELD
        return [
            f'{{\n{f}"agent_id": {a},\n{f}"period": {period},\n{f}"source": {so},\n{f}"row": {r},\n'
            f'{f}"level_before": {lb},\n{f}"level": {lv},\n{f}"qualified_level": {q},\n{f}"action": {ac},\n'
            f'{f}"reason": {re},\n{f}"why": {wh},\n{f}"on_probation": {pr},\n{f}"grade": {g},\n'
            f'{f}"coefficient": {c},\n{f}"score": {sc},\n{f}"review": {rv},\n{f}"pay": {p},\n'
            f'{f}"checks": {ch},\n{f}"notes": {n},\n{f}"state": {sta},\n{f}"ruleset": {stamp},\n'
            f'{f}"values": {v}\n{_CLOSE}'
            for a, so, r, lb, lv, q, ac, re, wh, pr, g, c, sc, rv, p, ch, n, sta, v in zip(
                agents, source, row_no, level_before, level, qualified, action, reason, why_text, probation,
                grade, coefficient, score, reviews, pay, checks, notes, state, values, strict=True,
            )
        ]  # fmt: skip

    @staticmethod
    def _take(table: list[str], codes: Any) -> list[str]:
        """``table[code]`` per row (a code of -1 takes the last entry)."""
        return [table[c] for c in codes.tolist()]

    def _why(self) -> list[str]:
        """The reason sentence per row, made once per distinct set of facts."""
        run, model, rows, j = self.run, self.run.model, self.rows, self.j
        promo = [f"promotion.blocked_if[{k}].when" for k in range(len(model.promotion.blocked_if))]
        demo = [f"demotion.immediate_if[{k}].when" for k in range(len(model.demotion.immediate_if))]
        columns = [
            self.levels.reason[j],
            run.prior.level[rows],
            self.levels.state.level[j],
            run.prior.promote_streak[rows],
            run.prior.maintain_fail_streak[rows],
            run.prior.periods_in_level[rows],
            *(getattr(run.calendar, k)[rows] for k in ("served", "cap", "start", "end", "term")),
            *(_held(run, p, rows) for p in promo + demo),
        ]
        keys = np.stack(columns, axis=1) if len(rows) else np.zeros((0, len(columns)), dtype=np.int64)
        distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
        texts = []
        for key in distinct.tolist():
            held = key[11:]
            facts = Facts(
                reason=REASONS[key[0]],
                level=key[1],
                moved_to=key[2],
                prior_promote_streak=key[3],
                prior_maintain_fail_streak=key[4],
                prior_periods_in_level=key[5],
                probation_served=key[6],
                probation_cap=key[7],
                probation_start=key[8],
                probation_end=key[9],
                contract_term=key[10],
                promotion_vetoes=[v.code for v, h in zip(model.promotion.blocked_if, held, strict=False) if h],
                demotion_vetoes=[
                    v.code for v, h in zip(model.demotion.immediate_if, held[len(promo) :], strict=True) if h
                ],
            )
            texts.append(self.w._string(why(model, facts)))
        return self._take(texts, inverse.reshape(-1))

    def _scores(self) -> tuple[list[str], list[list[str]]]:
        """The score block per row, and the score's notes (they also go to the decision's notes)."""
        run, stage, w, s = self.run, self.run.score, self.w, self.w._string
        size = len(self.list)
        if stage is None:
            return ["null"] * size, [[]] * size
        card, rows = stage.card, self.rows
        texts = run._record_columns()
        low = stage.low[rows].tolist()
        veto = stage.veto[rows].tolist()
        labels = _pick(stage.labels.to_list(), self.list)
        scaled = stage.scaled[rows].tolist()
        metric_texts = {p.metric: self._metric_texts(p.metric) for p in card.parts}
        keys: list[list[Any]] = []  # per part, each row's key: the part is the same for the same key
        for k, part in enumerate(card.parts):
            if isinstance(part.normalise, PercentileNorm):  # by its share (or neutral cohort size); value per row
                counts = zip(*(c[rows].tolist() for c in stage.counts[k]), strict=True)
                neutral = stage.neutral[k][rows].tolist()
                keys.append(
                    [
                        (lo, str(percentile_share(*c)), c[2] if small else None)
                        for lo, c, small in zip(low, counts, neutral, strict=True)
                    ]
                )
            else:  # by its normalised value, made once per distinct value text
                shares: dict[str, str] = self.shared.setdefault(("normalised", k), {})
                column = metric_texts[part.metric]
                for text in set(column).difference(shares):
                    shares[text] = self._normalised(part, text)
                keys.append([(lo, shares[text]) for lo, text in zip(low, column, strict=True)])
        kept: list[dict[Any, tuple[str, str]]] = self.shared.setdefault("parts", [{} for _ in card.parts])
        for n, i in enumerate(self.list):  # each part not met before, from one score of a row that has it
            new = [k for k, found_in in enumerate(kept) if keys[k][n] not in found_in]
            if new:
                score = stage.of(run, i)
                for k in new:
                    kept[k][keys[k][n]] = _around_value(_PART + w._model(score.parts[k], _PART))
        part_texts = []
        for k, part in enumerate(card.parts):
            pieces = map(kept[k].__getitem__, keys[k])
            part_texts.append([f"{a}{v}{b}" for (a, b), v in zip(pieces, metric_texts[part.metric], strict=True)])
        joined = [f"[\n{p}\n{_INNER}]" for p in map(",\n".join, zip(*part_texts, strict=True))] if part_texts else None
        notes_kept: dict[Any, list[str]] = self.shared.setdefault("score notes", {})
        mv = card.min_volume
        volume = _pick(texts[mv.metric], self.list) if mv is not None else [None] * size
        out, all_notes = [], []
        values: dict[int, str] = {}
        small = [  # per percentile part, each row's cohort size when the part is neutral there, else -1
            np.where(stage.neutral[k], stage.counts[k][2] + 1, -1)[rows].tolist() for k in sorted(stage.neutral)
        ]
        for n, i in enumerate(self.list):
            neutral = tuple(s[n] for s in small)
            label = labels[n] if any(size >= 0 for size in neutral) else None
            nkey = (low[n], veto[n], volume[n] if low[n] else None, neutral, label)
            notes = notes_kept.get(nkey)
            if notes is None:
                notes = notes_kept[nkey] = stage.of(run, i).notes
            value = values.get(scaled[n])
            if value is None:
                value = values[scaled[n]] = str(Decimal(scaled[n]).scaleb(-card.decimals))
            vcode = veto[n]
            out.append(
                f'{{\n{_INNER}"name": {s(card.name)},\n{_INNER}"value": "{value}",\n'
                f'{_INNER}"parts": {joined[n] if joined else "[]"},\n'
                f'{_INNER}"cohort": {s(labels[n])},\n'
                f'{_INNER}"veto": {s(card.vetoes[vcode].code) if vcode >= 0 else "null"},\n'
                f'{_INNER}"notes": {w._strings_text(notes, _INNER)}\n{_FIELD}}}'
            )
            all_notes.append(notes)
        return out, all_notes

    def _normalised(self, part: Any, text: str) -> str:
        """A score part's normalised value (as ``row_score`` makes it) for a value's JSON text."""
        metric = self.run.model.metrics.get(part.metric)
        with localcontext(CONTEXT):
            found = absolute(part.normalise, Decimal(text[1:-1]), metric.better if metric is not None else "higher")
        return str(found)

    def _reviews(self, shown: dict[str, list[str]]) -> tuple[list[str], Sequence[tuple[str, str] | None]]:
        """The review block per row, and the (streak, stage) texts it leaves in the new state."""
        run, w = self.run, self.w
        size = len(self.list)
        if run.model.review is None or run.review_out is None or run.review_labels is None:
            return ["null"] * size, [None] * size
        arrays, jr, rows = run.review_out, run.review_pos[self.rows], self.rows
        if not len(arrays.cohort_size) or rule_name(run) not in shown:
            raise _Uncovered("review")
        columns = [arrays.cohort_size, arrays.ranked, arrays.rank, arrays.percentile_cents, arrays.flagged]
        columns += [arrays.streak, arrays.bottom, arrays.in_bottom, arrays.at_cutoff, arrays.stage]
        keys = zip(
            *(c[jr].tolist() for c in columns),
            *(c[rows].tolist() for c in (run.review_exempt, run.review_floor, run.prior_review_streak)),
            strict=True,
        )
        kept: dict[Any, tuple[list[str], list[str], tuple[str, str]]] = self.shared.setdefault("review", {})
        out, state = [], []
        for i, key, value in zip(self.list, keys, shown[rule_name(run)], strict=True):
            found = kept.get(key)
            if found is None:  # the text with a stand-in cohort (written \u0000) and value
                result = _review(run, i, _STAND_IN, Decimal(0))
                assert result is not None
                head, tail = _around_value(w._flat(result))
                stand_in = to_json(_STAND_IN).decode()[1:-1]
                found = kept[key] = (
                    head.split(stand_in),
                    tail.split(stand_in),
                    (str(result.streak), w._scalar(result.stage)),
                )
            cohort = w._string(run.review_label(i))[1:-1]
            out.append(f"{cohort.join(found[0])}{value}{cohort.join(found[1])}")
            state.append(found[2])
        return out, state

    def _pay(self) -> list[str]:
        run = self.run
        if not run.pay_statements:
            return ["null"] * len(self.list)
        table = [self.w._model(p, _FIELD) for p in run.pay_statements]
        return self._take(table, run.pay_code[self.rows])

    def _states(self, agents: list[str], level: list[str], review: Sequence[tuple[str, str] | None]) -> list[str]:
        run, st, j, s = self.run, self.levels.state, self.j, self.w._string
        period = s(run.period)
        streak_level = self._take([*self.ids, "null"], np.where(st.streak_level[j] == NONE, -1, st.streak_level[j]))
        columns = [
            agents,
            level,
            [str(x) for x in st.periods_in_level[j].tolist()],
            [str(x) for x in st.promote_streak[j].tolist()],
            streak_level,
            [str(x) for x in st.maintain_fail_streak[j].tolist()],
            self._take(["false", "true"], st.on_probation[j].astype(np.int64)),
            [str(x) for x in st.probation_periods[j].tolist()],
            self._dues(),
        ]
        carried = [(str(int(run.review_streak[i])), self.w._scalar(run.review_stage[i])) for i in self.list]
        i8 = _INNER
        return [
            f'{{\n{i8}"agent_id": {a},\n{i8}"level": {lv},\n{i8}"last_period": {period},\n'
            f'{i8}"periods_in_level": {pil},\n{i8}"promote_streak": {ps},\n{i8}"streak_level": {sl},\n'
            f'{i8}"maintain_fail_streak": {mf},\n{i8}"on_probation": {op},\n{i8}"probation_periods": {pp},\n'
            f'{i8}"review_streak": {(r or c)[0]},\n{i8}"review_stage": {(r or c)[1]},\n'
            f'{i8}"deductions_due": {due}\n{_FIELD}}}'
            for a, lv, pil, ps, sl, mf, op, pp, due, r, c in zip(*columns, review, carried, strict=True)
        ]

    def _dues(self) -> list[str]:
        """Each row's deductions still due after the month: its pay statement's, or carried where no pay."""
        run = self.run
        if run.pay_statements:
            table = [self.w.mapping(p.due) if p is not None else "{}" for p in run.pay_statements]
            return self._take(table, run.pay_code[self.rows])
        return [self.w.mapping(due_of(run.due_in[i])) for i in self.list]

    def _values(self, grade: list[str], coefficient: list[str]) -> tuple[list[str], dict[str, list[str]]]:
        """The ``values`` block per row: each entry's text made once per distinct value."""
        run, model, w = self.run, self.run.model, self.w
        texts = run._record_columns()
        shown: dict[str, list[str]] = {}  # name -> each row's value as JSON
        for name in model.metrics:
            shown[name] = self._metric_texts(name)
        for name in model.attributes:
            shown[name] = [
                to_json(v).decode() if type(v) is not str else w._string(v) for v in _pick(texts[name], self.list)
            ]
        prior, rows = run.prior, self.rows
        shown["level"] = self._take(self.ids, prior.level[rows])
        shown["level_rank"] = [f'"{x + 1}"' for x in prior.level[rows].tolist()]
        shown["periods_in_level"] = [f'"{x}"' for x in prior.periods_in_level[rows].tolist()]
        shown["on_probation"] = self._take(["false", "true"], prior.on_probation[rows].astype(np.int64))
        shown["probation_periods"] = [f'"{x}"' for x in prior.probation_periods[rows].tolist()]
        for name in run.ruleset.derived_order:
            if name not in run.derived:
                break
            shown[name] = self._derived(name, shown)
        if run.score is not None:
            d = run.score.card.decimals
            shown[run.score.name] = [f'"{Decimal(x).scaleb(-d)}"' for x in run.score.scaled[rows].tolist()]
        if (run.grade_index[rows] >= 0).any():  # only the graded rows have one
            shown["grade"] = [g if g != "null" else "" for g in grade]
        if run.coefficient is not None:
            shown["coefficient"] = coefficient
        if not shown:
            return ["{}"] * len(self.list), shown
        keys = [w._key(name).replace("{", "{{").replace("}", "}}") for name in shown]
        template = "{{\n" + ",\n".join(f"{_INNER}{key}{{}}" for key in keys) + f"\n{_FIELD}}}}}"
        out = []
        for e in zip(*shown.values(), strict=True):
            if "" in e:  # an ungraded row has no grade
                out.append(
                    "{\n"
                    + ",\n".join(f"{_INNER}{w._key(n)}{v}" for n, v in zip(shown, e, strict=True) if v)
                    + f"\n{_FIELD}}}"
                )
            else:
                out.append(template.format(*e))
        return out, shown

    def _metric_texts(self, name: str) -> list[str]:
        """A metric's exact value per row, as JSON (made once per distinct record text)."""
        found = self._metrics.get(name)
        if found is None:
            whole = self.w.pieces.get(("texts", name))
            if whole is None:  # every row of the period, once: chunks of its rows pick from it
                column = self.run.rows[name + TEXT].cast(pl.String)
                distinct = column.drop_nulls().unique().to_list()
                decimals = self.run._decimals
                texts = [f'"{decimals.setdefault(t, Decimal(t))}"' for t in distinct]
                replaced = column.replace_strict(distinct, texts, default="null")  # null: an optional metric left blank
                whole = self.w.pieces[("texts", name)] = replaced.to_list()
            found = self._metrics[name] = _pick(whole, self.list)
        return found

    def _derived(self, name: str, shown: dict[str, list[str]]) -> list[str]:
        """A derived value's JSON per row, evaluated once per distinct text of what it reads."""
        run = self.run
        symbols = sorted(run.ruleset.need(f"derived.{name}.expr").symbols)
        if any(s not in shown for s in symbols):
            raise _Uncovered(name)
        kept: dict[tuple[str, ...], str] = self.shared.setdefault(("derived", name), {})
        out = []
        for n, key in enumerate(zip(*(shown[s] for s in symbols), strict=True)):
            found = kept.get(key)
            if found is None:
                i = self.list[n]
                value = run.exact_row(i).get(name, _Uncovered)
                if value is _Uncovered:  # the row failed at it: written row by row
                    raise _Uncovered(name)
                found = kept[key] = to_json(value).decode()
            out.append(found)
        return out


def _around_value(part: str) -> tuple[str, str]:
    """A score part's text before and after its value (a part's second field)."""
    start = part.index('"value": ') + len('"value": ')
    return part[:start], part[part.index(",\n", start) :]


def _held(run: PeriodRun, path: str, rows: Any) -> Any:
    answers = run.checked.get(path)
    if answers is None:
        return np.zeros(len(rows), dtype=np.int64)
    return (answers[rows] == 1).astype(np.int64)


def _pick(values: list[Any], rows: list[int]) -> list[Any]:
    return [values[i] for i in rows]
