"""SLO specs: one home for how ``--slo`` is spelled, read and checked (goodput, CI gates, SLO search).

Spellings (each item ``NAME:VALUE``; the value in milliseconds when bare, or with ``ms`` / ``s``):

- ``ttft:500`` (the goodput spelling): a bound on one metric, ``ttft``, ``tpot``, ``e2el`` or ``itl``.
  Goodput counts the requests within it; a gate (``--slo-percentile``, 99) and a search (p99) read
  it at a percentile.
- ``ttft_p99:500ms``, ``tpot_p95:50ms``, ``e2el_p50:10s``: the same bound at a stated percentile
  (one of the percentiles a run reports, :data:`PERCENTILES`), or ``ttft_mean:300ms`` (``avg`` also).

A run's ``slo`` is kept as ``{name: milliseconds}`` (``{"ttft": 500.0, "e2el_p95": 10000.0}``):
:func:`normalize` turns any spelling into it, :func:`specs` reads it back as :class:`SloSpec`.

EvalScope 1.14's ``--sla-auto-tune`` spelling (``sla_params`` JSON such as ``[{"p99_ttft": "<=500ms"}]``,
``sla_variable``, ``sla_upper_bound``...) is mapped onto ours by :func:`fold_evalscope_sla`.
Base layer: standard library and pydantic only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from evalscope import limits

#: the metrics an SLO may bound (per request: TTFT, TPOT, end-to-end latency; per gap: ITL)
METRICS = ("ttft", "tpot", "e2el", "itl")
#: the percentiles a perf run's tables hold (perf/results.py PERCENTILES; repeated: base layer)
PERCENTILES = (10, 25, 50, 66, 75, 80, 90, 95, 98, 99)
#: the percentile an SLO without one is read at (a search; a gate takes --slo-percentile)
DEFAULT_PERCENTILE = 99
#: metric -> the percentile table's column (its JSON key, in seconds)
PERCENTILE_COLUMNS = {"ttft": "TTFT (s)", "tpot": "TPOT (s)", "itl": "ITL (s)", "e2el": "Latency (s)"}
#: metric -> the summary's mean (its JSON key, in seconds)
MEAN_COLUMNS = {
    "ttft": "Average time to first token (s)",
    "tpot": "Average time per output token (s)",
    "itl": "Average inter-token latency (s)",
    "e2el": "Average latency (s)",
}
_NAME = re.compile(r"^(ttft|tpot|e2el|itl)(?:_(?:p(\d+)|(mean|avg)))?$")
_VALUE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(ms|s)?\s*$")
_UNIT_MS = {None: 1.0, "ms": 1.0, "s": 1000.0}


class SloSpec(BaseModel):
    """One bound: ``metric``'s ``percentile`` (None with ``mean``: its mean; None without: unstated)
    at most ``threshold_ms``."""

    model_config = ConfigDict(frozen=True)

    metric: Literal["ttft", "tpot", "e2el", "itl"]
    percentile: int | None = None
    mean: bool = False
    threshold_ms: float

    @property
    def name(self) -> str:
        """The key in a run's ``slo``: ``ttft``, ``ttft_p99``, ``ttft_mean``."""
        if self.mean:
            return f"{self.metric}_mean"
        return self.metric if self.percentile is None else f"{self.metric}_p{self.percentile}"

    def stat(self, default_percentile: int = DEFAULT_PERCENTILE) -> str:
        """``p99`` / ``mean``: what is compared (an unstated percentile is ``default_percentile``)."""
        return "mean" if self.mean else f"p{self.percentile or default_percentile}"

    def at(self, default_percentile: int = DEFAULT_PERCENTILE) -> SloSpec:
        """This spec with its percentile stated (``default_percentile`` when it had none)."""
        if self.mean or self.percentile is not None:
            return self
        return self.model_copy(update={"percentile": default_percentile})


def parse_name(name: str) -> tuple[str, int | None, bool]:
    """``"ttft_p99"`` -> ``("ttft", 99, False)``; ValueError naming the spellings."""
    m = _NAME.match(str(name).strip().lower())
    if not m:
        raise ValueError(
            f"unknown SLO {name!r}: use {', '.join(METRICS)}, optionally with _p<percentile> or _mean "
            "(e.g. ttft_p99)"
        )
    metric, pct, mean = m.group(1), m.group(2), m.group(3)
    percentile = int(pct) if pct is not None else None
    if percentile is not None and percentile not in PERCENTILES:
        raise ValueError(
            f"{name}: p{percentile} is not one of the reported percentiles "
            f"({', '.join(f'p{p}' for p in PERCENTILES)})"
        )
    return metric, percentile, mean is not None


def parse_ms(name: str, value: Any) -> float:
    """A threshold in milliseconds: a number (ms) or text ``500``, ``500ms``, ``0.5s``."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: {value!r} is not a duration")
    if isinstance(value, int | float):
        ms = float(value)
    else:
        m = _VALUE.match(str(value))
        if not m:
            raise ValueError(
                f"{name}: {value!r} is not a duration (milliseconds, or with ms / s: 500ms, 0.5s)"
            )
        ms = float(m.group(1)) * _UNIT_MS[m.group(2)]
    if not 0 < ms <= limits.MAX_SLO_MS:  # NaN fails this too
        raise ValueError(
            f"{name}: {value!r} is not a positive duration of at most {limits.MAX_SLO_MS:.0f} ms"
        )
    return ms


def normalize(value: Any) -> dict[str, float]:
    """Any spelling (``"ttft:500 e2el_p95:10s"``, ``["ttft_p99:500ms"]``, ``{"ttft": 500}``) ->
    ``{name: milliseconds}`` with canonical names (``ttft_avg`` -> ``ttft_mean``); ValueError on a
    bad item. None or empty -> ``{}``."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = value.split()
    items: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        for item in value:
            key, sep, val = str(item).partition(":")
            if not sep:
                raise ValueError(
                    f"{item!r} is not name:milliseconds (or with ms / s: ttft_p99:500ms, e2el:3s)"
                )
            items.append((key, val))
    else:
        raise ValueError("expected name:value items such as ttft_p99:500ms")
    out: dict[str, float] = {}
    for key, val in items:
        metric, percentile, mean = parse_name(key)
        spec = SloSpec(metric=metric, percentile=percentile, mean=mean, threshold_ms=parse_ms(key, val))
        out[spec.name] = spec.threshold_ms
    return out


def specs(slo: Mapping[str, float] | None) -> list[SloSpec]:
    """A run's ``slo`` (``{name: ms}``) as specs, in its order."""
    out = []
    for name, ms in (slo or {}).items():
        metric, percentile, mean = parse_name(name)
        out.append(SloSpec(metric=metric, percentile=percentile, mean=mean, threshold_ms=float(ms)))
    return out


def goodput_thresholds(slo: Mapping[str, float] | None) -> dict[str, float]:
    """The per-request bounds goodput counts (``{metric: ms}``): each metric's tightest bound, whatever
    its percentile (a request "meets" a p99 SLO of 500 ms when its own TTFT is within 500 ms)."""
    out: dict[str, float] = {}
    for s in specs(slo):
        out[s.metric] = min(out.get(s.metric, math.inf), s.threshold_ms)
    return out


def value_in(run_point: Mapping[str, Any], spec: SloSpec, percentile: int) -> float | None:
    """The value (seconds) a spec is checked against in one sweep point's JSON (``metrics`` and
    ``percentiles`` as written): the mean from the summary, else the percentile from the table."""
    if spec.mean:
        value = (run_point.get("metrics") or {}).get(MEAN_COLUMNS[spec.metric])
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    pcts: Mapping[str, Any] = run_point.get("percentiles") or {}
    labels = list(pcts.get("Percentiles") or [])
    values = list(pcts.get(PERCENTILE_COLUMNS[spec.metric]) or [])
    label = f"{spec.percentile or percentile}%"
    if label not in labels:
        return None
    i = labels.index(label)
    value = values[i] if i < len(values) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# -- EvalScope 1.14's --sla-auto-tune ------------------------------------------------------------
#: EvalScope's sla_params metric -> (our name, the unit of a bare number: EvalScope's report unit)
SLA_METRICS: dict[str, tuple[str, str]] = {
    "avg_ttft": ("ttft_mean", "ms"),
    "avg_tpot": ("tpot_mean", "ms"),
    "avg_latency": ("e2el_mean", "s"),
    "p99_ttft": ("ttft_p99", "ms"),
    "p90_ttft": ("ttft_p90", "ms"),
    "p50_ttft": ("ttft_p50", "ms"),
    "p99_tpot": ("tpot_p99", "ms"),
    "p90_tpot": ("tpot_p90", "ms"),
    "p50_tpot": ("tpot_p50", "ms"),
    "p99_latency": ("e2el_p99", "s"),
}
#: EvalScope's fields of an SLA auto-tune run, all read by :func:`fold_evalscope_sla`
SLA_FIELDS = (
    "sla_auto_tune",
    "sla_variable",
    "sla_params",
    "sla_num_runs",
    "sla_upper_bound",
    "sla_lower_bound",
    "sla_fixed_parallel",
    "sla_number_multiplier",
)
_SLA_OP = re.compile(r"^\s*(<=|<|≤)\s*(.+)$")


def _sla_groups(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"sla_params: not valid JSON ({exc.msg})") from None
    groups = raw if isinstance(raw, list) else [raw]
    if not groups or not all(isinstance(g, dict) and g for g in groups):
        raise ValueError('sla_params: give one group of bounds, e.g. [{"p99_ttft": "<=500ms"}]')
    if len(groups) > 1:
        raise ValueError(
            "sla_params: several groups (EvalScope searches each on its own) are not supported; "
            "give one group: every bound in it must hold"
        )
    return groups


def sla_params_to_slo(raw: Any) -> dict[str, float]:
    """EvalScope's ``sla_params`` (one group of ``{metric: "<=value"}``) -> our ``{name: ms}``.
    A bare number is in EvalScope's report unit (ms for TTFT/TPOT, s for latency)."""
    out: dict[str, float] = {}
    for metric, cond in _sla_groups(raw)[0].items():
        if metric not in SLA_METRICS:
            if metric in ("rps", "tps"):
                raise ValueError(
                    f"sla_params: {metric}: a throughput bound (>=) is not supported; bound latencies"
                )
            raise ValueError(f"sla_params: unknown metric {metric!r}: use {', '.join(SLA_METRICS)}")
        m = _SLA_OP.match(str(cond))
        if not m:
            if str(cond).strip() in ("max", "min"):
                raise ValueError(
                    f"sla_params: {metric}: the max/min objective is not supported; give a bound"
                )
            raise ValueError(f"sla_params: {metric}: {cond!r} is not <=value (e.g. <=500ms)")
        name, unit = SLA_METRICS[metric]
        text = m.group(2).strip()
        if re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", text):
            text += unit
        out[name] = parse_ms(f"sla_params.{metric}", text)
    return out


def fold_evalscope_sla(data: dict[str, Any]) -> dict[str, Any]:
    """A perf request's EvalScope SLA fields mapped onto ours (a new dict; ours win when both are given):

    ``sla_auto_tune`` -> ``search`` (``sla_variable`` parallel -> concurrency, rate -> rate);
    ``sla_params`` -> ``slo``; ``sla_lower_bound`` / ``sla_upper_bound`` -> ``search_min`` /
    ``search_max``; ``sla_fixed_parallel`` -> ``parallel`` (the cap under a rate search); the first
    ``parallel`` (or ``rate``) -> ``search_start``, kept within the bounds, as EvalScope starts there. Accepted
    without effect: ``sla_num_runs`` (repeats are decided by the confidence interval,
    ``search_max_rounds``) and ``sla_number_multiplier`` (requests per point: ``search_requests``).
    Without ``sla_auto_tune`` the other fields do nothing, as in EvalScope.
    """
    if not any(k in data for k in SLA_FIELDS):
        return data
    out = {k: v for k, v in data.items() if k not in SLA_FIELDS}
    if not data.get("sla_auto_tune"):
        return out
    variable = data.get("sla_variable") or "parallel"
    if variable not in ("parallel", "rate"):
        raise ValueError(f"sla_variable: {variable!r} is not parallel or rate")
    out.setdefault("search", "concurrency" if variable == "parallel" else "rate")
    if data.get("sla_params") is None:
        raise ValueError('sla_params: sla_auto_tune needs bounds, e.g. [{"p99_ttft": "<=500ms"}]')
    if not out.get("slo"):
        out["slo"] = sla_params_to_slo(data["sla_params"])
    for src, dst in (("sla_lower_bound", "search_min"), ("sla_upper_bound", "search_max")):
        if data.get(src) is not None:
            out.setdefault(dst, data[src])
    if data.get("sla_fixed_parallel") is not None and variable == "rate":
        out.setdefault("parallel", data["sla_fixed_parallel"])
    # EvalScope starts at --parallel (or --rate), within its bounds
    start = data.get("parallel") if variable == "parallel" else data.get("rate")
    if isinstance(start, list | tuple):
        start = start[0] if start else None
    if isinstance(start, int | float | str) and "search_start" not in out:
        try:
            x = float(start)
        except ValueError:
            x = 0.0
        if x > 0:
            low = float(out.get("search_min") or 1)
            high = float(out["search_max"]) if out.get("search_max") is not None else x
            out["search_start"] = min(max(x, low), high)
            if variable == "parallel":
                out.pop("parallel", None)  # the search sets the concurrency of each point
    return out


def describe(items: Iterable[SloSpec], default_percentile: int = DEFAULT_PERCENTILE) -> str:
    """``ttft p99 <= 500 ms, e2el mean <= 10000 ms``."""
    return ", ".join(f"{s.metric} {s.stat(default_percentile)} <= {s.threshold_ms:g} ms" for s in items)
