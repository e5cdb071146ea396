"""The reindex's arguments come from the settings in one place."""

from __future__ import annotations

from contactpoint.settings import Settings
from indexer.reindex import ReindexOptions
from indexer.retry import RetryPolicy


def test_the_reindex_options_come_from_the_settings() -> None:
    settings = Settings(
        index_replicas=1,
        reindex_batch_size=750,
        reindex_threads=3,
        reindex_build_workers=4,
        indexer_retry_attempts=6,
        indexer_retry_first_wait_s=0.5,
        indexer_max_backoff_s=9.0,
    )

    assert ReindexOptions.from_settings(settings) == ReindexOptions(
        replicas=1,
        batch_size=750,
        threads=3,
        build_workers=4,
        retry=RetryPolicy(attempts=6, first_wait_s=0.5, max_wait_s=9.0),
    )
