"""A partner hospital's API clients: made by the district admin, a secret shown once and kept only as a hash,
scoped to the hospital, revocable. The token a hospital's system sends is `xqh.<client id>.<secret>`."""
import hashlib
import hmac
import secrets

from sqlalchemy import select

from app.audit import services as audit
from app.auth.policy import HospitalSystem
from app.core import clock
from app.extensions import db
from app.interop.fhir.models import FhirClient
from app.orgs.models import Hospital

PREFIX = "xqh"


class ClientError(ValueError):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be searched, and a slow hash would tax every read.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_client(hospital_id: int, name: str, *, by) -> tuple[FhirClient, str]:
    """A new client for the hospital and its token, which is never stored and never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ClientError("bad_name")
    if db.session.get(Hospital, hospital_id) is None:
        raise ClientError("no_hospital")
    secret = secrets.token_urlsafe(32)
    client = FhirClient(hospital_id=hospital_id, name=name, secret_hash=_hash(secret), created_by_id=by.id,
                        created_at=clock.now())
    db.session.add(client)
    db.session.flush()
    audit.record(by, "fhir_client_created", "fhir_client", client.id, detail={"hospital_id": hospital_id})
    return client, f"{PREFIX}.{client.id}.{secret}"


def revoke_client(client: FhirClient, *, by) -> None:
    if client.revoked_at is not None:
        return
    client.revoked_at, client.revoked_by_id = clock.now(), by.id
    audit.record(by, "fhir_client_revoked", "fhir_client", client.id, detail={"hospital_id": client.hospital_id})
    db.session.flush()


def authenticate(token: str | None) -> FhirClient | None:
    """The live client the token names, or None (malformed, wrong secret, revoked: all alike)."""
    parts = (token or "").split(".")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit() or len(parts[1]) > 9:
        return None
    client = db.session.scalar(select(FhirClient).where(FhirClient.id == int(parts[1])))
    if client is None or not hmac.compare_digest(client.secret_hash, _hash(parts[2])) or client.revoked_at is not None:
        return None
    return client


def principal(client: FhirClient) -> HospitalSystem:
    return HospitalSystem(client)
