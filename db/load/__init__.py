"""The bulk load of an import file (docs/import-format.md): validation, staging and upserts.

Used by the `contactpoint load` command, the tests and the benchmarks; the API never imports it.
"""

from db.load.loader import LoadProgress, load_file
from db.load.result import LoadResult
from db.load.validation import Rejection, ValidLine, validate_line

__all__ = ["LoadProgress", "LoadResult", "Rejection", "ValidLine", "load_file", "validate_line"]
