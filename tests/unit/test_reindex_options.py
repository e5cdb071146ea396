"""The reindex's arguments come from the settings in one place."""

from __future__ import annotations

from pathlib import Path

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
        build_replicas=1,
        batch_size=750,
        threads=3,
        build_workers=4,
        retry=RetryPolicy(attempts=6, first_wait_s=0.5, max_wait_s=9.0),
    )


def test_a_cluster_builds_and_serves_with_a_replica_and_one_node_without(tmp_path: Path) -> None:
    cluster = Settings(elasticsearch_url="http://es1:9200, http://es2:9200,http://es3:9200")
    single = Settings(var_dir=tmp_path)
    fast_build = Settings(elasticsearch_url=cluster.elasticsearch_url, reindex_build_replicas=0)

    assert cluster.effective_elasticsearch_urls() == [
        "http://es1:9200",
        "http://es2:9200",
        "http://es3:9200",
    ]
    options = ReindexOptions.from_settings(cluster)
    assert (options.replicas, options.build_replicas) == (1, 1)
    options = ReindexOptions.from_settings(single)
    assert (options.replicas, options.build_replicas) == (0, 0)
    options = ReindexOptions.from_settings(fast_build)
    assert (options.replicas, options.build_replicas) == (1, 0)


def test_the_local_cluster_is_as_big_as_services_up_recorded(tmp_path: Path) -> None:
    (tmp_path / "elasticsearch").mkdir()
    (tmp_path / "elasticsearch" / "cluster.json").write_text('{"nodes": 3}')

    recorded = Settings(var_dir=tmp_path, es_port=9300)
    assert recorded.local_es_nodes() == 3
    assert recorded.effective_elasticsearch_urls() == [
        "http://127.0.0.1:9300",
        "http://127.0.0.1:9301",
        "http://127.0.0.1:9302",
    ]
    assert recorded.effective_index_replicas() == 1
    assert Settings(var_dir=tmp_path, es_port=9300, es_nodes=1).effective_elasticsearch_urls() == [
        "http://127.0.0.1:9300"
    ]
    assert Settings(var_dir=tmp_path / "nothing-here").local_es_nodes() == 1
