"""The one rule for what a failing request keeps.

Every refusal has exactly one audit row, and a request that fails keeps nothing else it wrote:
- A service that refuses (or fails) after writing its audit row raises with `raise_kept`: the
  row, and what the refusal must count (failed sign-ins, throttles), is committed before the
  error leaves the service, and the error is marked so that no second row is written for it.
- Every other refusal (no credentials, no permission, a form without its CSRF token, a request
  that is not valid) is decided before a service runs; the API's refusal middleware writes its
  row in a transaction of its own, before the answer is sent.
- Anything else that fails rolls the request's transaction back.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy.orm import Session

_KEPT = "audit_kept"


def raise_kept(*, session: Session, error: BaseException) -> NoReturn:
    """Commit what the request wrote (its audit row first of all), then raise `error`."""
    session.commit()
    setattr(error, _KEPT, True)
    raise error


def was_kept(error: BaseException) -> bool:
    """Whether `error` left a service through `raise_kept`, its audit row committed."""
    return getattr(error, _KEPT, False) is True
