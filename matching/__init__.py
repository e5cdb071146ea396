"""The match engine: comparison levels, the trained model file, and Fellegi-Sunter scoring.

Pure code: nothing here talks to PostgreSQL or Elasticsearch; the only file it reads or writes
is the model file. Values are normalised by `mappings.normalise`, as the index and the query
builder normalise them. Training (`matching.training`, with Splink) is imported on its own, so
that the service never loads Splink.
"""

from matching.comparisons import COMPARISONS, CoarseLevel, Comparison, Level, fingerprint
from matching.documents import DOCUMENT_FIELDS, prepared_from_document, prepared_from_documents
from matching.frequencies import Frequencies, count_frequencies
from matching.model import (
    ComparisonParameters,
    LevelParameters,
    MatchModel,
    ModelError,
    ModelMalformedError,
    ModelMismatchError,
    ModelMissingError,
    default_model_path,
    load_default_model,
    load_model,
    save_model,
)
from matching.prepared import Prepared, prepare, prepare_once
from matching.records import MatchRecord
from matching.scorer import ABSENT, FieldScore, Scored, competing_probabilities, score
from matching.u_sampling import LevelCounts, count_levels, with_population_u

__all__ = [
    "ABSENT",
    "COMPARISONS",
    "CoarseLevel",
    "DOCUMENT_FIELDS",
    "Comparison",
    "ComparisonParameters",
    "FieldScore",
    "Frequencies",
    "Level",
    "LevelCounts",
    "LevelParameters",
    "MatchModel",
    "MatchRecord",
    "ModelError",
    "ModelMalformedError",
    "ModelMismatchError",
    "ModelMissingError",
    "Prepared",
    "Scored",
    "competing_probabilities",
    "count_levels",
    "count_frequencies",
    "default_model_path",
    "fingerprint",
    "load_default_model",
    "load_model",
    "prepare",
    "prepare_once",
    "prepared_from_document",
    "prepared_from_documents",
    "save_model",
    "score",
    "with_population_u",
]
