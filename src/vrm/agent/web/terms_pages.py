"""The Terms page: the roster of agreements and additional terms, and the person's default.

The default is what the agent proffers to every vendor without terms of its own
(a vendor's own terms are chosen on its page); changing it proffers the new terms
to those vendors at once. The rule for vendors' alternatives is set here too.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import Conflict, NotFound
from vrm.agent.personal_agent import PersonalAgent
from vrm.terms import AlternativeRule, library
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

RULES = {
    AlternativeRule.ASK: "Take a vendor's other terms when they protect you at least as much; "
    "otherwise ask me.",
    AlternativeRule.REJECT: "Take a vendor's other terms when they protect you at least as "
    "much; otherwise turn them down.",
    AlternativeRule.NEVER: "Always ask me about a vendor's other terms.",
}


def terms_routes(*, site: Site, agent: PersonalAgent) -> APIRouter:
    """GET and POST /terms (the default and the rule for alternatives) and a vendor's own.

    A vendor's own terms (GET and POST /vendors/{number}/terms) replace the default for
    it alone; choosing them proffers them at once to an open relationship.
    """
    router = APIRouter(include_in_schema=False)

    def render(session: Session, *, status: int = 200, **context: Any) -> Response:
        settings = agent.terms_settings()
        context.setdefault("agreement", settings.default.agreement)
        context.setdefault("additional", list(settings.default.additional))
        context.setdefault("rule", settings.alternatives.value)
        context.setdefault("error", None)
        context.setdefault("saved", False)
        return site.pages.render(
            "terms.html",
            status=status,
            session=session,
            current="terms",
            library=library(),
            default_name=settings.default.terms().name,
            rules=[(rule.value, said) for rule, said in RULES.items()],
            **context,
        )

    @router.get("/terms")
    def terms_page(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return render(session, saved=request.query_params.get("saved") == "1")

    @router.post("/terms")
    async def set_terms(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        agreement = fields.get("agreement", "")
        additional = [term.id for term in library().terms if fields.get(f"term-{term.id}") == "on"]
        rule = fields.get("alternatives", "")
        known = {a.id for a in library().agreements}
        error = None
        if agreement not in known:
            error = "Choose one of the agreements."
        elif rule not in {r.value for r in AlternativeRule}:
            error = "Choose what to do with a vendor's other terms."
        if error is None:
            try:
                await anyio.to_thread.run_sync(
                    lambda: agent.set_default_terms(
                        agreement, additional, alternatives=AlternativeRule(rule)
                    )
                )
            except Conflict as exc:
                error = str(exc)
        if error is not None:
            return render(
                session,
                status=422,
                agreement=agreement,
                additional=additional,
                rule=rule,
                error=error,
            )
        return redirect("/terms?saved=1")

    def vendor_terms_page(
        session: Session,
        number: str,
        *,
        status: int = 200,
        error: str | None = None,
        agreement: str | None = None,
        additional: list[str] | None = None,
        saved: str = "",
    ) -> Response:
        try:
            relationship, choice, is_default = agent.vendor_terms(number)
        except NotFound:
            return site.pages.render(
                "vendor_missing.html", status=404, session=session, current="vendors"
            )
        return site.pages.render(
            "vendor_terms.html",
            status=status,
            session=session,
            current="vendors",
            library=library(),
            relationship=relationship,
            chosen_name=choice.terms().name,
            is_default=is_default,
            agreement=agreement or choice.agreement,
            additional=list(choice.additional) if additional is None else additional,
            error=error,
            saved=saved,
        )

    @router.get("/vendors/{number}/terms")
    def vendor_terms(
        number: str,
        saved: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return vendor_terms_page(session, number, saved=saved)

    @router.post("/vendors/{number}/terms")
    async def set_vendor_terms(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        agreement = fields.get("agreement", "")
        additional = [t.id for t in library().terms if fields.get(f"term-{t.id}") == "on"]
        to_default = fields.get("use") == "default"
        if not to_default and agreement not in {a.id for a in library().agreements}:
            return await run_in_threadpool(
                lambda: vendor_terms_page(
                    session,
                    number,
                    status=422,
                    error="Choose one of the agreements.",
                    agreement=agreement,
                    additional=additional,
                )
            )
        try:
            proffer = await run_in_threadpool(
                agent.set_vendor_terms,
                number,
                None if to_default else agreement,
                None if to_default else additional,
            )
        except NotFound:
            return await run_in_threadpool(lambda: vendor_terms_page(session, number))
        except Conflict as exc:
            problem = str(exc)
            return await run_in_threadpool(
                lambda: vendor_terms_page(session, number, status=409, error=problem)
            )
        said = "proffered" if proffer is not None else "kept"
        return redirect(f"/vendors/{number}/terms?saved={said}")

    return router
