"""Turn a benchmark declaration plus a ``TaskConfig`` into the samples to ask, prompts built."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from evalscope.datasets import (
    DatasetNotFoundError,
    cache_dir,
    dataset_dir_from_env,
    fetch,
    find_local,
    read_rows,
)
from evalscope.datasets.hub import offline
from evalscope.datasets.rows import RowReadError
from evalscope.eval.benchmarks.base import Benchmark, Sample
from evalscope.eval.config import DatasetArgs, TaskConfig
from evalscope.fieldnames import field_name


class DatasetFormatError(ValueError):
    """A row of a benchmark file does not have the benchmark's format; names the file and row."""


@dataclass
class LoadedBenchmark:
    """The samples of one benchmark in this run, in order, with their prompts."""

    benchmark: Benchmark
    subsets: list[str]
    samples: list[Sample]
    files: dict[str, str] = field(default_factory=dict)  # "<subset>/<split>" -> file read


def _roots(bench: Benchmark, args: DatasetArgs, cfg: TaskConfig) -> list[Path]:
    roots: list[Path] = []
    if args.local_path:
        roots.append(Path(args.local_path).expanduser())
    for base in (Path(cfg.dataset_dir).expanduser() if cfg.dataset_dir else None, dataset_dir_from_env()):
        if base is None:
            continue
        roots.extend(base / d for d in bench.dir_names)
        roots.append(base / (args.dataset_id or bench.dataset_id))
    roots.append(cache_dir() / cfg.dataset_hub / (args.dataset_id or bench.dataset_id))
    return roots


def _resolve(bench: Benchmark, args: DatasetArgs, cfg: TaskConfig, subset: str, split: str) -> Path:
    patterns = bench.files_for(subset, split)
    roots = _roots(bench, args, cfg)
    found = find_local(roots, patterns)
    if found is not None:
        return found
    local = field_name(f"dataset_args.{bench.name}.local_path")
    if bench.discover_subsets:  # a user's own data: nothing to download
        if not args.local_path and not args.dataset_id:
            raise DatasetNotFoundError(
                f"{local}: {bench.name} runs on your own data and none was given; set {local} to a file or "
                f"a folder of {' or '.join(patterns)} files"
            )
        where = args.local_path or args.dataset_id
        raise DatasetNotFoundError(
            f"{local}: {bench.name}: no file for subset {subset!r}, split {split!r} in {where}; "
            f"expected one of: {', '.join(patterns)}"
        )
    if bench.few_shot_files and split == bench.train_split:  # kept beside the data, not on the hub
        tried = ", ".join(str(r) for r in roots[:4])
        raise DatasetNotFoundError(
            f"{local}: {bench.name} subset {subset!r}: no {split} file (looked for {', '.join(patterns)} "
            f"under {tried}); put it beside the data as {patterns[0]}"
        )
    repo = args.dataset_id or (bench.hf_dataset_id if cfg.dataset_hub == "huggingface" else bench.dataset_id)
    try:
        return fetch(repo or bench.dataset_id, bench.hub_file_for(subset, split), source=cfg.dataset_hub)
    except DatasetNotFoundError as exc:
        tried = ", ".join(str(r) for r in roots[:4])
        layout = f"{bench.dir_names[0] if bench.dir_names else bench.name}/{patterns[0]}"
        raise DatasetNotFoundError(
            f"{local}: {bench.name} subset {subset!r}, split {split!r}: no local copy (looked for {patterns[0]} "
            f"and {len(patterns) - 1} other layouts under {tried}) and {exc}. Set {local} to a folder holding "
            f"{patterns[0]}, or put the file in the dataset folder as {layout}."
        ) from None


def _read(bench: Benchmark, path: Path, subset: str, split: str, start_index: int = 0) -> list[Sample]:
    try:
        rows = bench.reader(path) if bench.reader is not None else read_rows(path, bench.csv_fieldnames)
    except RowReadError as exc:
        raise DatasetFormatError(str(exc)) from None
    if bench.in_split is not None:
        try:
            rows = [row for row in rows if bench.in_split(row, split)]
        except (KeyError, ValueError, TypeError) as exc:
            raise DatasetFormatError(f"{path}: not in {bench.name} format: {exc}") from None
    if bench.csv_fieldnames and rows and path.suffix.lower() in (".csv", ".tsv"):
        first = [str(v).strip().lower() for v in rows[0].values()]
        if first == [f.lower() for f in bench.csv_fieldnames]:
            rows = rows[1:]  # the same layout, exported with a header row
    samples = []
    for i, row in enumerate(rows):
        try:
            s = bench.record_to_sample(row, subset)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DatasetFormatError(f"{path}: row {i + 1}: not in {bench.name} format: {detail}") from None
        if not bench.subsets_in_one_file:
            s.subset = subset
        s.id = f"{s.subset}/{start_index + i}"
        samples.append(s)
    return samples


def _apply_limit(samples: list[Sample], limit: int | float | None) -> list[Sample]:
    if limit is None:
        return samples
    if isinstance(limit, float):
        return samples[: max(1, int(len(samples) * limit))] if samples else samples
    return samples[:limit]


def _discover(bench: Benchmark, args: DatasetArgs) -> list[str]:
    """Subset names from the files in a user's ``local_path`` (``<subset>_<split>.<ext>``)."""
    if not args.local_path:
        return list(bench.subsets)
    path = Path(args.local_path).expanduser()
    if path.is_file():
        return [path.stem]
    if not path.is_dir():
        raise DatasetNotFoundError(
            f"{field_name(f'dataset_args.{bench.name}.local_path')}: {path} does not exist"
        )
    names: set[str] = set()
    for f in path.iterdir():
        if f.suffix.lower() not in (".jsonl", ".json", ".csv", ".tsv") or not f.is_file():
            continue
        stem = f.stem
        if stem.endswith(f"_{bench.eval_split}"):
            names.add(stem[: -len(bench.eval_split) - 1])
        elif bench.train_split is None or not stem.endswith(f"_{bench.train_split}"):
            if "{subset}.jsonl" in bench.local_files or "{subset}.csv" in bench.local_files:
                names.add(stem)
    if not names:
        raise DatasetNotFoundError(
            f"{field_name(f'dataset_args.{bench.name}.local_path')}: no "
            f"*_{bench.eval_split}.jsonl/.csv files in {path}"
        )
    return sorted(names)


def load_benchmark(bench: Benchmark, cfg: TaskConfig) -> LoadedBenchmark:
    """Read the benchmark's files, apply subset_list/limit/few-shot, and build every prompt."""
    args = cfg.args_for(bench.name)
    subsets = (
        list(args.subset_list)
        if args.subset_list
        else (_discover(bench, args) if bench.discover_subsets else list(bench.subsets))
    )
    few_shot = bench.few_shot_num if args.few_shot_num is None else args.few_shot_num
    if few_shot and not bench.train_split:
        few_shot = 0
    files: dict[str, str] = {}
    local = Path(args.local_path).expanduser() if args.local_path else None
    single_file = local if local is not None and local.is_file() else None

    by_subset: dict[str, list[Sample]] = {}
    if bench.subsets_in_one_file:
        path = _resolve(bench, args, cfg, "default", bench.eval_split)
        files[f"*/{bench.eval_split}"] = str(path)
        for s in _read(bench, path, "default", bench.eval_split):
            by_subset.setdefault(s.subset, []).append(s)
    else:
        for subset in subsets:
            path = (
                single_file
                if single_file is not None
                else _resolve(bench, args, cfg, subset, bench.eval_split)
            )
            files[f"{subset}/{bench.eval_split}"] = str(path)
            by_subset[subset] = _read(bench, path, subset, bench.eval_split)

    rng = random.Random(cfg.seed)
    samples: list[Sample] = []
    for subset in subsets:
        chosen = _apply_limit(by_subset.get(subset, []), cfg.limit)
        shots = _few_shot(bench, args, cfg, subset, few_shot, rng, files) if few_shot and chosen else []
        for s in chosen:
            msgs = bench.build_prompt(s, shots)
            system = args.system_prompt or bench.system_prompt
            if system and not any(m.get("role") == "system" for m in msgs):
                msgs = [{"role": "system", "content": system}, *msgs]
            s.messages = msgs
            samples.append(s)
    return LoadedBenchmark(benchmark=bench, subsets=subsets, samples=samples, files=files)


def _few_shot(
    bench: Benchmark,
    args: DatasetArgs,
    cfg: TaskConfig,
    subset: str,
    n: int,
    rng: random.Random,
    files: dict[str, str],
) -> list[Sample]:
    assert bench.train_split is not None
    try:
        path = _resolve(bench, args, cfg, subset, bench.train_split)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(
            f"{exc} (few-shot examples; set dataset_args.{bench.name}.few_shot_num to 0 to run without them)"
        ) from None
    # the same file for both splits is a mistake, unless the file holds every split (``in_split``)
    if bench.in_split is None and str(path) == files.get(f"{subset}/{bench.eval_split}"):
        raise DatasetNotFoundError(
            f"{bench.name}: no {bench.train_split!r} split for subset {subset!r} (only the scored file "
            f"{path}); set dataset_args.{bench.name}.few_shot_num to 0 or add the {bench.train_split} file"
        )
    files[f"{subset}/{bench.train_split}"] = str(path)
    if bench.read_few_shot is not None:
        try:
            pool = bench.read_few_shot(path, subset)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DatasetFormatError(f"{path}: not in {bench.name}'s few-shot format: {exc}") from None
    else:
        pool = _read(bench, path, subset, bench.train_split)
    if bench.subsets_in_one_file:  # one file holds every subset's examples (MMLU-Pro validation)
        pool = [s for s in pool if s.subset == subset]
    if len(pool) < n:
        raise DatasetFormatError(
            f"dataset_args.{bench.name}.few_shot_num: {n} examples asked for subset "
            f"{subset!r} but {path} has {len(pool)}"
        )
    return rng.sample(pool, n) if args.few_shot_random else pool[:n]


def check_sources(cfg: TaskConfig) -> list[tuple[str, str]]:
    """Problems with where each benchmark's data comes from, found before a run is queued, as
    ``(field, reason)``: a user's own data (general_qa, ...) not given or not found, and, offline, a
    hub benchmark with no local copy. Cheap: files are looked up, never read or downloaded."""
    from evalscope.eval.benchmarks import get_benchmark

    problems: list[tuple[str, str]] = []
    for name in cfg.datasets:
        bench = get_benchmark(name)
        args = cfg.args_for(name)
        if not bench.discover_subsets and not offline():
            continue  # a download may still bring the files: the run reports it if not
        try:
            subsets = (
                list(args.subset_list)
                if args.subset_list
                else (_discover(bench, args) if bench.discover_subsets else list(bench.subsets))
            )
            if args.local_path and Path(args.local_path).expanduser().is_file():
                continue
            for subset in ["default"] if bench.subsets_in_one_file else subsets:
                _resolve(bench, args, cfg, subset, bench.eval_split)
        except DatasetNotFoundError as exc:
            field = f"dataset_args.{name}.local_path"
            problems.append((field, str(exc).removeprefix(field_name(field) + ": ")))
    return problems
