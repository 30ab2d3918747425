"""Signing in through the web app's own forms, as a browser without JavaScript does."""

from __future__ import annotations

import re

import httpx

from tests.suite.conftest import PASSWORD

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]*)"')


def form_token(page: httpx.Response) -> str:
    """The hidden token of the first form on *page*."""
    found = FORM_TOKEN.search(page.text)
    assert found is not None, page.text[:500]
    return found[1]


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, *, next_page: str = ""
) -> httpx.Response:
    """Open the sign-in page and post its form; the answer (a 303 when it worked)."""
    page = await client.get("/login")
    fields = {"email": email, "password": password, "form_token": form_token(page)}
    if next_page:
        fields["next"] = next_page
    return await client.post("/login", data=fields)


async def post_form(
    client: httpx.AsyncClient, page_path: str, target: str, /, **fields: str
) -> httpx.Response:
    """Post *fields* to *target* with the token of the page at *page_path*, as its form would."""
    page = await client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    return await client.post(target, data={"form_token": form_token(page), **fields})
