"""A CMS client's subscription to a child's notices, delivered to its signed webhook."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from db.subscriptions import subscribe, unsubscribe
from searchapi.deps import AuditContextDep, SessionDep, Subscriber
from searchapi.paths import IdentifierPath
from searchapi.schemas import error_responses

router = APIRouter(
    prefix="/v1/children/{identifier}",
    tags=["notifications"],
    responses=error_responses(403, 404, 409),
)


class SubscriptionResponse(BaseModel):
    """Whether the client is subscribed now, and whether this request changed it."""

    identifier: str
    subscribed: bool
    changed: bool


@router.post("/subscription", response_model=SubscriptionResponse)
def post_subscription(
    identifier: IdentifierPath,
    principal: Subscriber,
    session: SessionDep,
    context: AuditContextDep,
) -> SubscriptionResponse:
    """Subscribe this client to the child's notices (sent to its webhook); idempotent."""
    changed = subscribe(session=session, context=context, identifier=identifier)
    return SubscriptionResponse(identifier=identifier, subscribed=True, changed=changed)


@router.delete("/subscription", response_model=SubscriptionResponse)
def delete_subscription(
    identifier: IdentifierPath,
    principal: Subscriber,
    session: SessionDep,
    context: AuditContextDep,
) -> SubscriptionResponse:
    """End this client's subscription to the child; idempotent."""
    changed = unsubscribe(session=session, context=context, identifier=identifier)
    return SubscriptionResponse(identifier=identifier, subscribed=False, changed=changed)
