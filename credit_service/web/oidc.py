"""OpenID Connect sign-in (Authlib's Flask client): self-service real-name login and staff single sign-on.

Only what the identity provider signed is believed: the claims come from the ID token, checked by
Authlib against the provider's published keys, with the issuer pinned to the configured one, the
audience (our client id), the nonce and the expiry. Anything that fails — a wrong issuer, a bad
signature, a replayed or stale callback, a provider that does not answer — refuses the sign-in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from authlib.integrations.flask_client import OAuth

from ..services import access

log = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Provider:
    name: str  # "person" | "staff": the Authlib client's name and its session state key
    issuer: str
    client_id: str
    client_secret: str
    scope: str


class SignInRefused(Exception):
    """The identity provider's answer cannot be trusted or is incomplete (detail for the log only)."""


class OidcClient:
    def __init__(self, oauth: OAuth, provider: Provider):
        self.provider = provider
        oauth.register(
            name=provider.name, client_id=provider.client_id, client_secret=provider.client_secret,
            server_metadata_url=provider.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": provider.scope, "default_timeout": _TIMEOUT_SECONDS})
        self._client = oauth.create_client(provider.name)

    def redirect(self, redirect_uri: str):
        """The redirect to the provider's login; its state and nonce are kept in the web session."""
        self._metadata()
        return self._client.authorize_redirect(redirect_uri)

    def claims(self) -> dict:
        """The verified ID token claims of the callback now being handled; SignInRefused otherwise."""
        try:
            self._metadata()
            token = self._client.authorize_access_token(
                claims_options={"iss": {"essential": True, "value": self.provider.issuer},
                                "sub": {"essential": True}},
                leeway=60)
        except SignInRefused:
            raise
        except Exception as exc:  # Authlib's OAuthError and JoseError, requests' errors, a malformed answer
            raise SignInRefused(f"{type(exc).__name__}: {exc}") from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInRefused("no ID token in the token response")
        return dict(claims)

    def _metadata(self) -> dict:
        try:
            metadata = self._client.load_server_metadata()
        except Exception as exc:
            raise SignInRefused(f"provider metadata: {type(exc).__name__}") from None
        if metadata.get("issuer") != self.provider.issuer:
            raise SignInRefused(f"provider metadata names issuer {metadata.get('issuer')!r}")
        return metadata


def build_clients(app, settings) -> tuple[OidcClient | None, OidcClient | None]:
    """(self-service, staff) clients, each None when its issuer is not configured."""
    oauth = OAuth(app)
    person = staff = None
    if settings.oidc_issuer:
        person = OidcClient(oauth, Provider("person", settings.oidc_issuer, settings.oidc_client_id,
                                            settings.oidc_client_secret, settings.oidc_scope))
    if settings.staff_oidc_issuer:
        staff = OidcClient(oauth, Provider("staff", settings.staff_oidc_issuer, settings.staff_oidc_client_id,
                                           settings.staff_oidc_client_secret, settings.staff_oidc_scope))
    return person, staff


def parse_role_map(text: str) -> dict[str, str]:
    """"claim value=role,…" (CREDIT_SERVICE_STAFF_OIDC_ROLE_MAP)."""
    mapping = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        value, sep, role = part.rpartition("=")
        if not sep or role.strip() not in access.CONSOLE_ROLES:
            raise ValueError(f"CREDIT_SERVICE_STAFF_OIDC_ROLE_MAP: '{part}' is not VALUE={'|'.join(access.CONSOLE_ROLES)}")
        mapping[value.strip()] = role.strip()
    return mapping


def staff_role(claims: dict, claim: str, mapping: dict[str, str]) -> str | None:
    """The role a staff identity maps to; the claim may hold one value or a list (groups). Several
    matching values give the highest role; none gives None (refused)."""
    values = claims.get(claim)
    values = values if isinstance(values, list) else [values]
    roles = {mapping[v] for v in values if isinstance(v, str) and v in mapping}
    return next((role for role in (access.ADMIN, access.STAFF) if role in roles), None)
