"""CMS clients: created with a key shown once (only its digest is kept), revocable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access.credentials import digest, new_api_key
from db.access.networks import LOOPBACK, parse_networks
from db.access.roles import CLIENT_ROLES, Role
from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, DomainError, InvalidInput, NotFound
from db.models import ApiClient, LocalAuthority, Organisation
from db.normalise import has_control_characters

MAX_CLIENT_NETWORKS = 50
_NAME_MAX = 100


@dataclass(frozen=True)
class IssuedKey:
    """A new client's API key: printed once, never retrievable again."""

    name: str
    key: str


def _reachable_from(networks: Sequence[str]) -> list[str]:
    return [str(network) for network in parse_networks(networks)] or list(LOOPBACK)


def client_problems(
    *,
    session: Session,
    name: str,
    roles: frozenset[Role],
    authority: str,
    networks: Sequence[str] = (),
    organisation: str | None = None,
) -> dict[str, DomainError]:
    """Every rule the new client breaks, by the field it is about, in the order they are
    checked (empty when it may be registered): a form shows them all at once."""
    problems: dict[str, DomainError] = {}
    name = name.strip()
    if not name or len(name) > _NAME_MAX or has_control_characters(name):
        problems["name"] = InvalidInput(
            "a client name has 1 to 100 characters and no control characters"
        )
    if not roles or roles - CLIENT_ROLES:
        allowed = ", ".join(sorted(CLIENT_ROLES))
        problems["roles"] = InvalidInput(f"a client's roles are among: {allowed}")
    if has_control_characters(authority) or session.get(LocalAuthority, authority) is None:
        problems["authority"] = InvalidInput(f"unknown local authority: {authority}")
    try:
        reachable_from = _reachable_from(networks)
    except InvalidInput as exc:
        problems["networks"] = exc
    else:
        if len(reachable_from) > MAX_CLIENT_NETWORKS:
            problems["networks"] = InvalidInput(
                f"a client has at most {MAX_CLIENT_NETWORKS} networks"
            )
    if organisation and _organisation(session, organisation) is None:
        problems["organisation"] = InvalidInput(
            f"unknown organisation: {organisation} (give it as KIND:CODE, e.g. gp_practice:B86010)"
        )
    if (
        "name" not in problems
        and session.scalars(select(ApiClient.id).where(ApiClient.name == name)).first()
    ):
        problems["name"] = Conflict(f"The client name {name!r} is taken.")
    return problems


def _organisation(session: Session, organisation: str) -> Organisation | None:
    kind, _, code = organisation.strip().partition(":")
    if has_control_characters(organisation) or not code:
        return None
    statement = select(Organisation).where(
        Organisation.kind == kind.strip().lower(), Organisation.code == code.strip().upper()
    )
    return session.scalars(statement).one_or_none()


def create_client(
    *,
    session: Session,
    context: AuditContext,
    name: str,
    roles: frozenset[Role],
    authority: str,
    networks: Sequence[str] = (),
    organisation: str | None = None,
) -> IssuedKey:
    """Register a CMS of one local authority that may act for users of `roles`, calling from
    `networks` (CIDR; the loopback when none are given), and writing for `organisation`
    ("KIND:CODE"; none: read-only)."""
    problems = client_problems(
        session=session,
        name=name,
        roles=roles,
        authority=authority,
        networks=networks,
        organisation=organisation,
    )
    if problems:
        # The first rule broken, as the API and the command line have always answered.
        raise next(iter(problems.values()))
    name = name.strip()
    reachable_from = _reachable_from(networks)
    org = _organisation(session, organisation) if organisation else None
    key_id, key = new_api_key()
    client = ApiClient(
        name=name,
        key_id=key_id,
        key_hash=digest(key),
        roles=sorted(roles),
        local_authority_code=authority,
        networks=reachable_from,
        organisation_id=org.id if org else None,
    )
    session.add(client)
    session.flush()
    record_audit(
        session=session,
        event=AuditEventType.CLIENT_CREATED,
        context=context,
        subject=name,
        authorities=[authority],
        details={
            "roles": sorted(roles),
            "authority": authority,
            "key_id": key_id,
            "networks": reachable_from,
            "organisation": _organisation_name(org),
        },
    )
    return IssuedKey(name=name, key=key)


def _get_client(session: Session, name: str) -> ApiClient:
    if has_control_characters(name) or len(name) > _NAME_MAX:
        # No client is so named (and PostgreSQL cannot even compare a NUL).
        raise NotFound("There is no client with this name.")
    client = session.scalars(select(ApiClient).where(ApiClient.name == name)).one_or_none()
    if client is None:
        raise NotFound(f"There is no client {name!r}.")
    return client


def revoke_client(*, session: Session, context: AuditContext, name: str) -> None:
    """Revoke a client's key: its next request is refused."""
    client = _get_client(session, name)
    client.revoked_at = client.revoked_at or datetime.now(UTC)
    record_audit(
        session=session,
        event=AuditEventType.CLIENT_REVOKED,
        context=context,
        subject=client.name,
        authorities=[client.local_authority_code],
    )


def _organisation_name(org: Organisation | None) -> str | None:
    return None if org is None else f"{org.kind}:{org.code}"


def _describe(client: ApiClient) -> dict[str, object]:
    return {
        "name": client.name,
        "key_id": client.key_id,
        "roles": sorted(client.roles),
        "authority": client.local_authority_code,
        "networks": list(client.networks),
        "organisation": _organisation_name(client.organisation),
        "status": "revoked" if client.revoked_at else "active",
        "created_at": client.created_at.isoformat() if client.created_at else None,
    }


def describe_client(*, session: Session, name: str) -> dict[str, object]:
    """The client called `name` (never its key or digest); NotFound otherwise."""
    return _describe(_get_client(session, name))


def list_clients(*, session: Session) -> list[dict[str, object]]:
    """Every client (never a key or its digest)."""
    clients = session.scalars(select(ApiClient).order_by(ApiClient.name))
    return [_describe(client) for client in clients]
