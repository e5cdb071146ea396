"""One typed settings object, read from the environment and an optional .env file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.vocabulary import ORGANISATION_KINDS

# A comma-separated list of organisation kinds (possibly empty: nobody changes addresses).
_KIND = "|".join(ORGANISATION_KINDS)
_ADDRESS_SOURCES = rf"^\s*((?:{_KIND})\s*(?:,\s*(?:{_KIND})\s*)*)?$"

# The one place that names the Elasticsearch release (docker-compose.yml is checked against it).
ELASTICSEARCH_VERSION = "9.2.0"
POSTGRES_MAJOR = 15


class Settings(BaseSettings):
    """Every tunable of ContactPoint; environment variables override the defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # Where the project-local servers keep their data, logs and generated secrets.
    var_dir: Path = Path("var")
    # Downloaded distributions, shared by the development and the test stacks.
    downloads_dir: Path = Path("var/downloads")
    service_user: str = "contactpoint"

    # PostgreSQL. When DATABASE_URL is set that server is used and nothing is started.
    database_url: SecretStr | None = None
    # Role that runs migrations (owns the schema); defaults to DATABASE_URL.
    migration_database_url: SecretStr | None = None
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_database: str = "contactpoint"
    pg_bin_dir: Path | None = None
    # The streaming standby's port (`services up --pg-standby`); unset, the primary's plus one.
    pg_standby_port: int | None = None
    pg_pool_size: int = 10
    pg_max_overflow: int = 10
    pg_start_timeout_s: float = 60.0

    # Elasticsearch. When ELASTICSEARCH_URL is set that cluster is used and nothing is started.
    elasticsearch_url: str | None = None
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: Path | None = None
    # Credentials of the indexer (writes indices); the API's are the ones above.
    elasticsearch_indexer_username: str | None = None
    elasticsearch_indexer_password: SecretStr | None = None
    elasticsearch_indexer_api_key: SecretStr | None = None
    # The local node's ports; a local cluster of N nodes (`services up --es-nodes N`) uses
    # N consecutive ports from each.
    es_port: int = 59200
    es_transport_port: int = 59300
    # Nodes of the local cluster. Unset: as many as `services up` last started (recorded in
    # VAR_DIR/elasticsearch/cluster.json), else one.
    es_nodes: int | None = Field(default=None, ge=1, le=9)
    es_heap: str = "1g"
    es_java_home: Path | None = None
    es_start_timeout_s: float = 180.0
    es_request_timeout_s: float = 30.0
    # The client's own retries of one request after a timeout or a lost connection (on another
    # node; never after a status, never a bulk request): see indexer/retry.py.
    es_max_retries: int = 2
    # Kept-alive connections per node and process: at least the requests served at once (the
    # API's thread pool), or the ones over it open and close a connection each time.
    es_connections_per_node: int = 40
    index_alias: str = "children"
    # Replicas of the serving index. Unset: 1 when the client knows more than one node (a local
    # cluster, or several comma-separated ELASTICSEARCH_URL), else 0 (one node cannot hold one).
    index_replicas: int | None = Field(default=None, ge=0)

    # Indexer.
    indexer_batch_size: int = 500
    indexer_poll_interval_s: float = 1.0
    # Tries of a bulk write's transient failures, per document, and the first wait between
    # them; the waits double up to INDEXER_MAX_BACKOFF_S, as do the indexer's pauses after a
    # failed round (indexer/retry.py).
    indexer_retry_attempts: int = 5
    indexer_retry_first_wait_s: float = 0.2
    indexer_max_backoff_s: float = 30.0
    reindex_batch_size: int = 2000
    reindex_threads: int = 2
    # Processes that build documents during a reindex (0: in the reading process).
    reindex_build_workers: int = 2
    # Replicas of a new index while a reindex builds it. Unset: the serving replicas, so that
    # the build lives through the loss of a node; 0 builds faster, and fails with a node.
    reindex_build_replicas: int | None = Field(default=None, ge=0)

    # HTTP service.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Worker processes of `serve`: a search spends most of its time in Elasticsearch, and more
    # processes than cores keep one request's Python work from queueing behind another's
    # (4 on 2 cores: p99 at 8 concurrent searches 85 ms against 150 ms with 2).
    api_workers: int = 4
    # One structured access line per request (method, route template, status, seconds,
    # request id): never the path or query, which can name a child or hold a break-glass
    # reason. uvicorn's own access lines (the raw path) are never written.
    api_access_log: bool = True
    # Logs: one JSON object a line ("json"), or plain lines for a person at a terminal ("text").
    log_format: Literal["json", "text"] = "json"
    # Who may read /metrics (Prometheus text): a scraper from these networks (comma-separated
    # CIDR), or anyone sending `Authorization: Bearer METRICS_TOKEN` (when set).
    metrics_networks: str = "127.0.0.0/8,::1/128"
    metrics_token: SecretStr | None = None
    # How long uvicorn waits for a worker's heartbeat before it kills it as hung. A new worker
    # answers only once it has started Python and imported the command that spawned it: on 2
    # cores busy with the first reindex that took over 5 s (uvicorn's default), and uvicorn
    # killed and restarted workers that were only starting.
    api_worker_healthcheck_s: int = 30
    # CPU priority the indexer gives up (nice) beside `serve`: its bulk work yields to the
    # workers' start-up and to searches.
    indexer_nice: int = 10

    # Search ranking: the match model file (`contactpoint matching train` writes one; unset, the
    # shipped model), and how often each worker reads the population's value frequencies.
    match_model_path: Path | None = None
    match_frequencies_refresh_seconds: float = Field(default=600.0, gt=0)

    # Bulk load.
    load_batch_size: int = 2000

    # National feeds (`contactpoint feed import`): a record whose best candidate holds this
    # probability or more is linked to it; below `feed_review_probability` a new child is
    # created; between them it goes to review. A candidate that is a shielded child at
    # `feed_hold_probability` or more holds the record for that child's authority.
    feed_link_probability: float = Field(default=0.99, gt=0, le=1)
    feed_review_probability: float = Field(default=0.2, gt=0, lt=1)
    feed_hold_probability: float = Field(default=0.01, gt=0, lt=1)
    feed_batch_size: int = Field(default=200, ge=1, le=10_000)

    # Access and audit (issue 5). Sessions, lockout and rate limits of sign-in; argon2id cost.
    session_idle_timeout_s: int = 15 * 60
    session_absolute_timeout_s: int = 8 * 60 * 60
    session_cookie_name: str = "cp_session"
    # Off only for plain-HTTP local development; the cookie is otherwise never sent in clear.
    session_cookie_secure: bool = True
    password_min_length: int = 12
    pin_min_digits: int = 4
    pin_max_digits: int = 8
    lockout_threshold: int = 5
    lockout_duration_s: int = 15 * 60
    sign_in_rate_window_s: int = 5 * 60
    sign_in_rate_per_username: int = 10
    sign_in_rate_per_address: int = 50
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    totp_issuer: str = "ContactPoint"
    # Proxies (comma-separated addresses or CIDR networks) whose X-Forwarded-For is believed;
    # empty: the socket's peer is the client, whatever a request's headers say.
    forwarded_allow_ips: str = ""
    # Networks (comma-separated CIDR) from which people may sign in and use a session; a CMS
    # client carries its own list, given when it is registered (loopback when none is).
    sign_in_networks: str = "127.0.0.0/8,::1/128"
    # Serve /docs and /openapi.json (off: every route must declare a permission).
    api_docs: bool = False
    audit_page_max: int = 500
    # Events per page of the audit page (the API's `limit` is capped by `audit_page_max`).
    audit_page_rows: int = 50
    # Misuse report: volume outliers, out-of-hours use and fishing.
    misuse_window_days: int = 7
    misuse_volume_factor: float = 3.0
    misuse_volume_mad_k: float = 5.0
    misuse_volume_min_searches: int = 20
    misuse_zero_result_threshold: int = 10
    # An unreviewed break glass heads the misuse report after this many working days.
    break_glass_review_working_days: int = 2
    # The brokering target: a contact request is overdue after this many working days.
    brokering_response_working_days: int = Field(default=2, ge=1, le=30)
    working_hours_timezone: str = "Europe/London"
    working_hours_start: int = 7
    working_hours_end: int = 19
    # Users' vetting (db.access.vetting): an enhanced criminal-records (DBS) check older than
    # this many years refuses sign-in and CMS requests for the user; admins are shown who lapses
    # within the warning's days; refusals tell the person to ask `vetting_contact`.
    vetting_check_valid_years: int = Field(default=3, ge=1, le=10)
    vetting_warning_days: int = Field(default=60, ge=1, le=366)
    vetting_contact: str = Field(
        default="your organisation's ContactPoint administrator", min_length=1, max_length=200
    )
    # Tamper evidence of the audit (`contactpoint audit seal|verify`). The sealer's Ed25519
    # private key: base64 of its 32 raw bytes (`contactpoint audit key --new` makes one);
    # `services up` generates one into var/secrets.json for the local stack. Only the sealer
    # needs it: the API never signs, and a verifier needs only the public key.
    audit_seal_private_key: SecretStr | None = None
    # Public keys (base64, a JSON list) that `audit verify` trusts besides the private key's
    # own: earlier keys after a rotation, or the only key where the private one is not kept.
    audit_seal_public_keys: list[str] = []
    # How often the sealer looks for new audit rows.
    audit_seal_interval_s: float = 5.0
    # The audit is kept this many years, then dropped a whole month at a time
    # (`contactpoint audit retention`, docs/audit.md), each drop recorded in the seal chain.
    audit_retention_years: int = Field(default=7, ge=1, le=100)
    # Monthly partitions of the audit created ahead of time by that maintenance.
    audit_partition_months_ahead: int = Field(default=3, ge=1, le=24)
    # Updates from CMS clients: the organisation kinds (comma-separated, db.vocabulary) whose
    # clients may change a child's address. GP practices hear of a move first (the original
    # design's example), social care and schools keep addresses for their own duties.
    address_sources: str = Field(
        default="gp_practice,social_care,education", pattern=_ADDRESS_SOURCES
    )
    # Idempotency records older than this are deleted by `contactpoint clients purge-keys`.
    idempotency_retention_hours: int = Field(default=24, ge=1)

    # Notifications (notify/). The address people sign in at: e-mails link to its /inbox.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "contactpoint@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # A delivery is dead after this many attempts, the waits between them doubling from the
    # base up to the cap (with jitter); `contactpoint notify retry` gives the dead another go.
    notify_max_attempts: int = Field(default=12, ge=1, le=100)
    notify_backoff_base_s: float = Field(default=2.0, gt=0)
    notify_backoff_cap_s: float = Field(default=300.0, gt=0)
    notify_poll_s: float = Field(default=0.5, gt=0)
    notify_batch_size: int = Field(default=50, ge=1, le=1000)
    # A claimed delivery is someone else's to retry after this long (a deliverer that died).
    notify_lease_s: float = Field(default=120.0, gt=0)
    notify_workers: int = Field(default=4, ge=1, le=64)

    # The lifecycle job (lifecycle/, docs/lifecycle.md): archive at 18, destroy six years on.
    # Children per committed batch of each step.
    lifecycle_batch_size: int = Field(default=5000, ge=1, le=100_000)
    # Destroy batches run side by side, each on a connection of its own (one per core).
    lifecycle_destroy_workers: int = Field(default=2, ge=1, le=16)
    # An ended involvement shows as ended on the record for this many years, then leaves it.
    lifecycle_ended_involvement_years: int = Field(default=2, ge=1, le=10)
    # When `serve --with-indexer` runs the day's job, as HH:MM in LIFECYCLE_TIMEZONE.
    lifecycle_run_at: str = Field(default="02:30", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    lifecycle_timezone: str = "Europe/London"

    @property
    def address_source_kinds(self) -> frozenset[str]:
        """The organisation kinds whose CMS clients may change addresses."""
        return frozenset(kind.strip() for kind in self.address_sources.split(",") if kind.strip())

    @property
    def secrets_file(self) -> Path:
        """Generated passwords of the project-local servers (mode 0600)."""
        return self.var_dir / "secrets.json"

    def local_secrets(self) -> dict[str, Any]:
        """The generated credentials of the local servers, or {} before `services up`."""
        try:
            data: dict[str, Any] = json.loads(self.secrets_file.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _local_pg_url(self, role: str) -> str:
        password = self.local_secrets().get("postgres", {}).get(role)
        if password is None:
            raise RuntimeError(
                "PostgreSQL is not configured: set DATABASE_URL or run `contactpoint services up`"
            )
        return (
            f"postgresql+psycopg2://{role}:{password}@{self.pg_host}:{self.pg_port}/"
            f"{self.pg_database}"
        )

    def effective_database_url(self) -> str:
        """URL of the application's role (least privilege)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self._local_pg_url("contactpoint_app")

    def effective_migration_url(self) -> str:
        """URL of the role that owns the schema and runs migrations."""
        if self.migration_database_url is not None:
            return self.migration_database_url.get_secret_value()
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self._local_pg_url("contactpoint_owner")

    def effective_seal_private_key(self) -> str | None:
        """The audit sealer's private key (base64): the setting, else the local stack's."""
        if self.audit_seal_private_key is not None:
            return self.audit_seal_private_key.get_secret_value()
        local: str | None = self.local_secrets().get("audit_seal", {}).get("private_key")
        return local

    def local_es_nodes(self) -> int:
        """How many nodes the local cluster has: ES_NODES, else what `services up` recorded."""
        if self.es_nodes is not None:
            return self.es_nodes
        try:
            recorded = json.loads((self.var_dir / "elasticsearch" / "cluster.json").read_text())
        except (FileNotFoundError, ValueError):
            return 1
        nodes = recorded.get("nodes") if isinstance(recorded, dict) else None
        return nodes if isinstance(nodes, int) and nodes >= 1 else 1

    def effective_elasticsearch_urls(self) -> list[str]:
        """Every node the client may send a request to (it moves on from one that is down)."""
        if self.elasticsearch_url:
            return [url.strip() for url in self.elasticsearch_url.split(",") if url.strip()]
        return [f"http://127.0.0.1:{self.es_port + n}" for n in range(self.local_es_nodes())]

    def effective_elasticsearch_url(self) -> str:
        """URL of the first node of the Elasticsearch cluster in use (for messages)."""
        return self.effective_elasticsearch_urls()[0]

    def effective_index_replicas(self) -> int:
        """Replicas of the serving index (INDEX_REPLICAS, else 1 on a cluster and 0 on a node)."""
        if self.index_replicas is not None:
            return self.index_replicas
        return 1 if len(self.effective_elasticsearch_urls()) > 1 else 0

    def elasticsearch_credentials(self, *, purpose: str) -> dict[str, Any]:
        """Client keyword arguments for `purpose` "api" (read-only) or "indexer"."""
        if purpose == "indexer":
            user, password, api_key = (
                self.elasticsearch_indexer_username,
                self.elasticsearch_indexer_password,
                self.elasticsearch_indexer_api_key,
            )
        else:
            user, password, api_key = (
                self.elasticsearch_username,
                self.elasticsearch_password,
                self.elasticsearch_api_key,
            )
        kwargs: dict[str, Any] = {}
        if self.elasticsearch_ca_certs is not None:
            kwargs["ca_certs"] = str(self.elasticsearch_ca_certs)
        if api_key is not None:
            kwargs["api_key"] = api_key.get_secret_value()
        elif user is not None and password is not None:
            kwargs["basic_auth"] = (user, password.get_secret_value())
        elif self.elasticsearch_url is None:
            local = self.local_secrets().get("elasticsearch", {}).get(purpose)
            if local is not None:
                kwargs["basic_auth"] = (local["username"], local["password"])
        return kwargs


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
