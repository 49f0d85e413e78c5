"""`mediasight key ...`: issue, list, revoke and rotate a tenant's API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog.domain.model import Scope
from mediasight.shared_cli import err, one_of, with_tenant
from services.keys import issue_key, rotate_key

key_app = typer.Typer(
    help=f"Manage a tenant's API keys (scopes: {one_of(Scope)}; review: a reviewer's, made by `mediasight "
    "reviewer add`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TenantName = Annotated[str, typer.Argument(metavar="TENANT", help="The tenant whose keys these are.")]
KeyId = Annotated[
    str,
    typer.Argument(metavar="KEY_ID", help="The key's ID (not its secret): see `mediasight key list TENANT`."),
]


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    tenant: TenantName,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(metavar="SCOPE", help=f"{one_of(Scope)}; repeat for several [default: read]."),
    ] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
) -> None:
    """Issue a key; the secret is printed alone on stdout, once, and stored only hashed."""
    scopes = tuple(scope or (Scope.READ,))
    secret, key = with_tenant(ctx, tenant, lambda s, t: issue_key(s.catalog, t, scopes, name))
    err.print(f"key {key.id} ({','.join(key.scopes)}) for {tenant!r}; it is shown only this once.")
    print(secret)


@key_app.command("list")
def key_list(ctx: typer.Context, tenant: TenantName) -> None:
    """List a tenant's keys (never their secrets)."""
    found = with_tenant(ctx, tenant, lambda s, t: s.catalog.list_api_keys(t))
    if not found:
        err.print(f"No keys yet: create one with `mediasight key create {tenant}`.")
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        print(f"{key.id}\t{','.join(key.scopes)}\t{state}\t{key.name}")


def _no_live_key(tenant: str, key_id: str) -> typer.Exit:
    err.print(f"[red]no live key {key_id} for tenant {tenant!r}[/] (see `mediasight key list {tenant}`)")
    return typer.Exit(1)


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, tenant: TenantName, key_id: KeyId) -> None:
    """Revoke a key: requests with it fail from now on."""
    if not with_tenant(ctx, tenant, lambda s, t: s.catalog.revoke_api_key(t, key_id)):
        raise _no_live_key(tenant, key_id)
    err.print(f"revoked {key_id}")


@key_app.command("rotate")
def key_rotate(ctx: typer.Context, tenant: TenantName, key_id: KeyId) -> None:
    """Replace a key by a new one with the same scopes; prints the new secret; the old one stops at once."""
    issued = with_tenant(ctx, tenant, lambda s, t: rotate_key(s.catalog, t, key_id))
    if issued is None:
        raise _no_live_key(tenant, key_id)
    err.print(f"rotated {key_id} → {issued[1].id}; the new key is shown only this once.")
    print(issued[0])
