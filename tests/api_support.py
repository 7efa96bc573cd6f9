"""Calling the API in tests: a token and requests with it."""

import json
from typing import Any

from django.test import Client

from api import tokens
from workspaces.services.workspaces import personal_workspace


def make_token(user, access: str = "write", workspace=None) -> str:
    """A token of `user` in `workspace` (default: their personal workspace, made on demand)."""
    workspace = workspace or personal_workspace(user)
    return tokens.token_create(user=user, workspace=workspace, name=f"{access} token", access=access).secret


def call(client: Client, method: str, path: str, token: str | None = None, body: Any = None, **headers: str):
    """One API request; headers as keyword arguments (idempotency_key="k" sends Idempotency-Key: k)."""
    meta = {f"HTTP_{name.upper()}": value for name, value in headers.items()}
    if token:
        meta["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method.lower())(f"/api/v1{path}", **kwargs, **meta)
