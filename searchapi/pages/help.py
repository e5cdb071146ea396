"""The help page: what ContactPoint holds and does not, how search matches, what shielding
means and whom to call, for the roles the reader holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from db.access import Role
from db.models import LocalAuthority
from searchapi.deps import SessionDep, SettingsDep, SignedIn
from searchapi.pages.csrf import page_csrf
from searchapi.pages.render import render
from searchapi.pages.search_form import MINIMUM_RULE

router = APIRouter(include_in_schema=False)


@router.get("/help")
def help_page(
    request: Request, principal: SignedIn, session: SessionDep, settings: SettingsDep
) -> Response:
    """Help for each of the reader's roles, with their own authorities' teams to call."""
    teams = session.scalars(
        select(LocalAuthority)
        .where(LocalAuthority.code.in_(principal.authorities))
        .order_by(LocalAuthority.name)
    ).all()
    return render(
        request,
        "help.html",
        csrf=page_csrf(request, settings),
        roles={role.value for role in principal.roles},
        Role=Role,
        teams=teams,
        minimum_rule=MINIMUM_RULE,
        brokering_days=settings.brokering_response_working_days,
        idle_minutes=settings.session_idle_timeout_s // 60,
    )
