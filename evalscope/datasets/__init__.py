"""Dataset loading: local copies first, then the cache, then a hub download.

``fetch`` finds one file of a hub dataset; ``read_rows`` turns a jsonl/json/csv/tsv/parquet file into
a list of dicts; ``find_local`` resolves candidate file patterns under a list of folders.
"""

from evalscope.datasets.hub import DatasetNotFoundError, cache_dir, dataset_dir_from_env, fetch, find_local
from evalscope.datasets.rows import read_rows

__all__ = ["DatasetNotFoundError", "cache_dir", "dataset_dir_from_env", "fetch", "find_local", "read_rows"]
