"""A whole period's decisions as JSON text, written piece by piece for all rows at once.

``DecisionJson`` writes one decision from its fields (``decision_fields``), and gathering
those fields row by row (numpy scalars, the exact row, the score, the review, the sentences)
cost two thirds of writing a large outcome. Here each piece of a decision is made for every
decided row of the period together: numbers from the run's arrays, and each piece that takes
few distinct forms (a level's sentence, a score part, a review's verdict, a derived value)
rendered once per form, by the same code ``decision_fields`` uses, then gathered by row. The
pieces are polars text columns, joined by polars (``text_columns``): no Python loop or string
per row, and the text goes to the file as the UTF-8 polars holds.

The text is the same as ``DecisionJson.text(decision_fields(run, i))`` for every row
(``tests/test_period_json.py``); a period this module does not cover (scores computed row by
row by the definition, a derived value some row failed at) returns None and is written row by row.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from pydantic_core import to_json

from tierpay.engine.columns import ROW, SOURCE, TEXT
from tierpay.engine.decision_json import _FIELD, _INNER, _PART, DecisionJson
from tierpay.engine.decisions import _record_notes, _review
from tierpay.engine.levels import ACTIONS, NONE, REASONS, Facts, why
from tierpay.engine.scorecard import CONTEXT, absolute, percentile_share
from tierpay.engine.state import due_of
from tierpay.engine.text_columns import Text, distinct_rows, flags, joined, json_object, numbers, strings, take
from tierpay.ruleset.model import PercentileNorm

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

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
    texts = period_column(run, rows, writer, shared)
    return None if texts is None else texts.to_list()


def period_column(
    run: PeriodRun, rows: list[int], writer: DecisionJson, shared: dict[Any, Any], before: Text = ""
) -> pl.Series | None:
    """``period_texts`` as a polars column, each text after ``before`` (a text per row, or one for all)."""
    if run.score is not None and (run.score.exact is not None or _on_derived(run.score.card, run.model.metrics)):
        return None
    if run.applied.of_row or _extended(run):  # people's decisions: written row by row
        return None
    if not rows:
        return pl.Series([], dtype=pl.String)
    try:
        texts = _Texts(run, np.asarray(rows, dtype=np.int64), writer, shared).all(before)
        if texts.null_count():  # a piece this module has no text for: written row by row
            raise _Uncovered("null")
        return texts
    except _Uncovered:
        return None
    finally:
        for i in rows:  # a decision is written once: keep no exact row behind
            run.cache.pop(i, None)


def _on_derived(card: Any, metrics: Any) -> bool:
    """Whether a score part or the minimum volume reads a derived value: these scores are written row by row."""
    names = [p.metric for p in card.parts] + ([card.min_volume.metric] if card.min_volume is not None else [])
    return any(n not in metrics for n in names)


def _extended(run: PeriodRun) -> bool:
    """Whether a row's new state carries a probation extension (a field this module does not write)."""
    levels = run.levels_out
    return levels is not None and bool(levels.state.probation_extension.any())


class _Uncovered(Exception):
    """A piece this module does not write for the whole period at once."""


class _Texts:
    """The pieces of one period's decision texts, each a column with one text per row."""

    def __init__(self, run: PeriodRun, rows: Any, writer: DecisionJson, shared: dict[Any, Any]) -> None:
        self.run, self.rows, self.w, self.shared = run, rows, writer, shared
        self.list = rows.tolist()
        self.size = len(self.list)
        levels = run.levels_out
        assert levels is not None
        self.levels = levels
        self.j = run.level_pos[rows]
        self.ids = [writer._string(i) for i in run.ruleset.level_ids]
        self._metrics: dict[str, pl.Series] = {}
        self._scored: pl.Series | None = None

    def all(self, before: Text) -> pl.Series:
        run, w, s, rows, j = self.run, self.w, self.w._string, self.rows, self.j
        agents = strings(run.rows["agent_id"].gather(rows))
        source = strings(run.rows[SOURCE].gather(rows)) if SOURCE in run.rows.columns else s(run.source)
        st = self.levels.state
        level = take(self.ids, st.level[j])
        grade = take([s(g.grade) for g in run.model.grades] + ["null"], run.grade_index[rows])
        coefficient: Text = "null"
        if run.coefficient is not None:
            codes, table, _ = run.coefficient
            coefficient = take([f'"{c}"' for c in table], codes[rows])
        score, score_notes = self._scores()
        values, shown = self._values(grade, coefficient)
        reviews, review_state = self._reviews(shown)
        ladder = run.ruleset.ladder
        fields: list[tuple[str, Text | list[Text]]] = [
            ("agent_id", agents),
            ("period", s(run.period)),
            *([("ladder", s(ladder))] if ladder is not None else []),
            ("source", source),
            ("row", numbers(run.rows[ROW].gather(rows))),
            ("level_before", take(self.ids, run.prior.level[rows])),
            ("level", level),
            ("qualified_level", take(self.ids, self.levels.qualified[j])),
            ("action", take([s(a) for a in ACTIONS], self.levels.action[j])),
            ("reason", take([s(r) for r in REASONS], self.levels.reason[j])),
            ("why", self._why()),
            *([("nominated", self._nominated())] if ladder is not None else []),
            ("on_probation", flags(st.on_probation[j])),
            ("grade", grade),
            ("coefficient", coefficient),
            ("score", score),
            ("review", reviews),
            ("pay", self._pay()),
            ("checks", pl.Series([w._checks_text(run.checks_of(i)) for i in self.list], dtype=pl.String)),
            ("notes", self._notes(score_notes)),
            ("state", self._states(agents, level, review_state)),
            ("ruleset", w._model(run.stamp, _FIELD)),
            ("values", values),
        ]
        return joined(json_object(fields, _FIELD, before=before), self.size)

    def _nominated(self) -> Text:
        """The ladders each row may be nominated for, as JSON lists of names."""
        run, w = self.run, self.w
        held = [n[self.rows] for n in run.nominated]
        if not any(h.any() for h in held):
            return "[]"
        code = sum(h.astype(np.int64) << k for k, h in enumerate(held))  # which nominations held, as bits
        found, at = np.unique(code, return_inverse=True)
        texts = [
            w._strings_text([n.to for k, n in enumerate(run.ruleset.nominations) if int(c) >> k & 1], _FIELD)
            for c in found.tolist()
        ]
        return take(texts, at)

    def _why(self) -> pl.Series:
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
        first, codes = distinct_rows({str(k): c for k, c in enumerate(columns)})
        texts = []
        for key in np.stack(columns, axis=1)[first].tolist():
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
        return take(texts, codes)

    def _scores(self) -> tuple[Text | list[Text], tuple[Any, list[list[str]]] | None]:
        """The score block per row, and its notes (they also go to the decision's notes): a code per row, a list per code."""
        run, stage, w, s = self.run, self.run.score, self.w, self.w._string
        if stage is None:
            return "null", None
        card, rows = stage.card, self.rows
        low = stage.low[rows]
        distinct: list[tuple[list[int], Any, list[Any]]] = []  # per part: first rows, codes, key per code
        for k, part in enumerate(card.parts):
            if isinstance(part.normalise, PercentileNorm):  # by its share (or neutral cohort size); value per row
                counts = [c[rows] for c in stage.counts[k]]
                others = np.where(stage.neutral[k][rows], counts[2], -1)  # the others counted, where neutral
                first, codes = distinct_rows({"low": low, "small": others, **{str(n): c for n, c in enumerate(counts)}})
                keys: list[tuple[Any, ...]] = [
                    (lo, str(percentile_share(*c)), c[2] if sm >= 0 else None)
                    for lo, sm, *c in zip(
                        low[first].tolist(), others[first].tolist(), *(c[first].tolist() for c in counts), strict=True
                    )
                ]
            else:  # by its normalised value, made once per distinct value text
                shares: dict[str, str] = self.shared.setdefault(("normalised", k), {})
                first, codes = distinct_rows({"low": low, "value": self._metric_codes(part.metric)})
                texts = self._metric_texts(part.metric).gather(first).to_list()
                for text in set(texts).difference(shares):
                    shares[text] = self._normalised(part, text)
                keys = [(lo, shares[text]) for lo, text in zip(low[first].tolist(), texts, strict=True)]
            distinct.append((first, codes, keys))
        kept: list[dict[Any, tuple[str, str]]] = self.shared.setdefault("parts", [{} for _ in card.parts])
        new = sorted(
            {
                n
                for (first, _, keys), found in zip(distinct, kept, strict=True)
                for n, key in zip(first, keys, strict=True)
                if key not in found
            }
        )
        for n in new:  # each part not met before, from one score of a row that has it
            score = None
            for k, (_, codes, keys) in enumerate(distinct):
                key = keys[codes[n]]
                if key not in kept[k]:
                    if score is None:
                        score = stage.of(run, self.list[n])
                    kept[k][key] = _around_value(_PART + w._model(score.parts[k], _PART))
        parts: list[Text] = []
        for k, (_, codes, keys) in enumerate(distinct):
            around = [kept[k][key] for key in keys]
            parts += [
                ",\n" if k else "[\n",
                take([a for a, _ in around], codes),
                self._metric_texts(card.parts[k].metric),
            ]
            parts.append(take([b for _, b in around], codes))
        parts_text: Text | list[Text] = [*parts, f"\n{_INNER}]"] if parts else "[]"
        notes_kept: dict[Any, list[str]] = self.shared.setdefault("score notes", {})
        mv = card.min_volume
        columns: dict[str, Any] = {"low": low, "veto": stage.veto[rows]}
        if mv is not None:  # the volume matters to the notes of a low-volume row alone
            volume = run.rows[mv.metric + TEXT].cast(pl.String).gather(rows)
            columns["volume"] = pl.select(pl.when(pl.lit(pl.Series(low))).then(volume)).to_series()
        small = [  # per percentile part, each row's cohort size when the part is neutral there, else -1
            np.where(stage.neutral[k][rows], stage.counts[k][2][rows] + 1, -1) for k in sorted(stage.neutral)
        ]
        for k, sizes in enumerate(small):
            columns[f"neutral {k}"] = sizes
        neutral = np.logical_or.reduce([sizes >= 0 for sizes in small]) if small else None
        if neutral is not None and neutral.any():  # the cohort is named in the notes of a neutral part
            labels = stage.labels.gather(rows)
            columns["label"] = pl.select(pl.when(pl.lit(pl.Series(neutral))).then(labels)).to_series()
        first, codes = distinct_rows(columns)
        notes = []
        for n in first:
            key = (
                bool(low[n]),
                int(stage.veto[rows[n]]),
                columns["volume"][n] if "volume" in columns else None,
                tuple(int(sizes[n]) for sizes in small),
                columns["label"][n] if "label" in columns else None,
            )
            found = notes_kept.get(key)
            if found is None:
                found = notes_kept[key] = stage.of(run, self.list[n]).notes
            notes.append(found)
        fields: list[tuple[str, Text | list[Text]]] = [
            ("name", s(card.name)),
            ("value", self._score_values()),
            ("parts", parts_text),
            ("cohort", strings(stage.labels.gather(rows))),
            ("veto", take([s(v.code) for v in card.vetoes] + ["null"], stage.veto[rows])),
            ("notes", take([w._strings_text(n, _INNER) for n in notes], codes)),
        ]
        return json_object(fields, _INNER), (codes, notes)

    def _notes(self, score_notes: tuple[Any, list[list[str]]] | None) -> pl.Series:
        """The notes per row: the record's and the score's, made once per distinct set of what they say."""
        run, rows = self.run, self.rows
        columns: dict[str, Any] = {
            "known": run.known[rows],
            "stated_probation": run.stated_probation[rows],
            "stated": run.rows["level"].gather(rows),
            "level": run.prior.level[rows],
            "last": run.last_before[rows],
            "on_probation": run.prior.on_probation[rows],
            "carried": run.calendar.carried[rows],
        }
        probation = run.model.probation
        if probation is not None and probation.attribute in run.rows.columns:
            columns["value"] = run.rows[probation.attribute].gather(rows)
        if score_notes is not None:
            columns["score"] = score_notes[0]
        first, codes = distinct_rows(columns)
        texts = []
        for n in first:
            extra = score_notes[1][score_notes[0][n]] if score_notes is not None else []
            texts.append(self.w._strings_text([*_record_notes(run, self.list[n]), *extra], _FIELD))
        return take(texts, codes)

    def _score_values(self) -> pl.Series:
        """The score's value per row, as its exact decimal text in quotes."""
        stage = self.run.score
        assert stage is not None
        if self._scored is None:
            distinct, inverse = np.unique(stage.scaled[self.rows], return_inverse=True)
            texts = [f'"{Decimal(x).scaleb(-stage.card.decimals)}"' for x in distinct.tolist()]
            self._scored = take(texts, inverse.reshape(-1))
        return self._scored

    def _normalised(self, part: Any, text: str) -> str:
        """A score part's normalised value (as ``row_score`` makes it) for a value's JSON text."""
        metric = self.run.model.metrics.get(part.metric)
        with localcontext(CONTEXT):
            found = absolute(part.normalise, Decimal(text[1:-1]), metric.better if metric is not None else "higher")
        return str(found)

    def _reviews(self, shown: dict[str, pl.Series]) -> tuple[Text, tuple[list[str], list[str]] | None]:
        """The review block per row, and the streak and stage texts it leaves in the new state."""
        run, w = self.run, self.w
        if run.model.review is None or run.review_out is None or run.review_labels is None:
            return "null", None
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
        out, streaks, stages = [], [], []
        for i, key, value in zip(self.list, keys, shown[rule_name(run)].to_list(), strict=True):
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
            streaks.append(found[2][0])
            stages.append(found[2][1])
        return pl.Series(out, dtype=pl.String), (streaks, stages)

    def _pay(self) -> Text:
        run = self.run
        if not run.pay_statements:
            return "null"
        table = self.w.pieces.get("pay")
        if table is None:  # once a period, for its chunks
            table = self.w.pieces["pay"] = [self.w._model(p, _FIELD) for p in run.pay_statements]
        return take(table, run.pay_code[self.rows])

    def _states(self, agents: Text, level: Text, review: tuple[list[str], list[str]] | None) -> list[Text]:
        run, st, j, rows = self.run, self.levels.state, self.j, self.rows
        if review is None:  # the review's, or the streak and stage carried in
            streak: Text = numbers(run.review_streak[rows])
            stage: Text = pl.Series([self.w._scalar(x) for x in run.review_stage[rows].tolist()], dtype=pl.String)
        else:
            streak, stage = pl.Series(review[0], dtype=pl.String), pl.Series(review[1], dtype=pl.String)
        fields: list[tuple[str, Text | list[Text]]] = [
            ("agent_id", agents),
            ("level", level),
            ("last_period", self.w._string(run.period)),
            ("periods_in_level", numbers(st.periods_in_level[j])),
            ("promote_streak", numbers(st.promote_streak[j])),
            ("streak_level", take([*self.ids, "null"], np.where(st.streak_level[j] == NONE, -1, st.streak_level[j]))),
            ("maintain_fail_streak", numbers(st.maintain_fail_streak[j])),
            ("on_probation", flags(st.on_probation[j])),
            ("probation_periods", numbers(st.probation_periods[j])),
            ("review_streak", streak),
            ("review_stage", stage),
            ("deductions_due", self._dues()),
        ]
        return json_object(fields, _INNER)

    def _dues(self) -> pl.Series:
        """Each row's deductions still due after the month: its pay statement's, or carried where no pay."""
        run, w = self.run, self.w
        if run.pay_statements:
            table = w.pieces.get("dues")
            if table is None:  # once a period, for its chunks
                table = w.pieces["dues"] = [w.mapping(p.due) if p is not None else "{}" for p in run.pay_statements]
            return take(table, run.pay_code[self.rows])
        carried = pl.Series(run.due_in[self.rows].tolist(), dtype=pl.String)
        distinct = carried.unique().to_list()
        texts = [w.mapping(due_of(text)) for text in distinct]
        return carried.replace_strict(distinct, texts, return_dtype=pl.String)

    def _values(self, grade: pl.Series, coefficient: Text) -> tuple[list[Text], dict[str, pl.Series]]:
        """The ``values`` block per row: each entry's text made once per distinct value."""
        run, model, w = self.run, self.run.model, self.w
        texts = run._record_columns()
        shown: dict[str, pl.Series] = {}  # name -> each row's value as JSON
        for name in model.metrics:
            shown[name] = self._metric_texts(name)
        for name in model.attributes:
            shown[name] = pl.Series(
                [to_json(v).decode() if type(v) is not str else w._string(v) for v in _pick(texts[name], self.list)],
                dtype=pl.String,
            )
        prior, rows = run.prior, self.rows
        shown["level"] = take(self.ids, prior.level[rows])
        shown["level_rank"] = '"' + numbers(prior.level[rows] + 1) + '"'
        shown["periods_in_level"] = '"' + numbers(prior.periods_in_level[rows]) + '"'
        shown["on_probation"] = flags(prior.on_probation[rows])
        shown["probation_periods"] = '"' + numbers(prior.probation_periods[rows]) + '"'
        for name in run.ruleset.derived_order:
            if name not in run.derived:
                break
            shown[name] = self._derived(name, shown)
        if run.score is not None:
            shown[run.score.name] = self._score_values()
        if (run.grade_index[rows] >= 0).any():  # only the graded rows have one
            shown["grade"] = pl.select(pl.when(grade != "null").then(grade)).to_series()
        if isinstance(coefficient, pl.Series):
            shown["coefficient"] = coefficient
        return json_object(list(shown.items()), _INNER, optional="grade"), shown

    def _metric_texts(self, name: str) -> pl.Series:
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
                whole = self.w.pieces[("texts", name)] = replaced
                numbered = column.replace_strict(distinct, range(len(distinct)), default=-1, return_dtype=pl.Int64)
                self.w.pieces[("codes", name)] = numbered.to_numpy()
            found = self._metrics[name] = whole.gather(self.rows)
        return found

    def _metric_codes(self, name: str) -> Any:
        """A metric's value per row as a number, the same for the same record text (for ``distinct_rows``)."""
        self._metric_texts(name)
        return self.w.pieces[("codes", name)][self.rows]

    def _derived(self, name: str, shown: dict[str, pl.Series]) -> pl.Series:
        """A derived value's JSON per row, evaluated once per distinct text of what it reads."""
        run = self.run
        symbols = sorted(run.ruleset.need(f"derived.{name}.expr").symbols)
        if any(s not in shown for s in symbols):
            raise _Uncovered(name)
        kept: dict[tuple[str, ...], str] = self.shared.setdefault(("derived", name), {})
        out = []
        for n, key in enumerate(zip(*(shown[s].to_list() for s in symbols), strict=True)):
            found = kept.get(key)
            if found is None:
                i = self.list[n]
                value = run.exact_row(i).get(name, _Uncovered)
                if value is _Uncovered:  # the row failed at it: written row by row
                    raise _Uncovered(name)
                found = kept[key] = to_json(value).decode()
            out.append(found)
        return pl.Series(out, dtype=pl.String)


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
