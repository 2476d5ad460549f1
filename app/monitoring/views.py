"""GET /metrics for Prometheus: answered only to the configured addresses, never through the proxy."""
import ipaddress
import logging

from flask import Blueprint, Response, abort, current_app, request

from app.auth import policy
from app.monitoring import metrics as prometheus

logger = logging.getLogger(__name__)
bp = Blueprint("monitoring", __name__)

# A request that passed a proxy carries one of these: metrics are for a scraper on the server's own network,
# never for the internet behind nginx (whatever ProxyFix made of the client's address).
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def allowed_networks(setting: str):
    """METRICS_ALLOWED_IPS ("127.0.0.1,::1,10.0.0.5,10.1.0.0/24") as networks; a bad entry stops the start-up."""
    networks = []
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise RuntimeError(f"METRICS_ALLOWED_IPS: {entry!r} is not an address or network") from exc
    return tuple(networks)


def _allowed(address: str | None) -> bool:
    if not address or any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        client = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if getattr(client, "ipv4_mapped", None):
        client = client.ipv4_mapped
    return any(client in network for network in current_app.extensions["metrics_networks"])


@bp.get("/metrics")
@policy.public  # not a staff page: the address decides (404 elsewhere, as for anything out of scope)
def metrics():
    if not _allowed(request.remote_addr):
        abort(404)
    return Response(prometheus.render(), content_type=prometheus.CONTENT_TYPE)


def init_app(app):
    app.extensions["metrics_networks"] = allowed_networks(app.config["METRICS_ALLOWED_IPS"])
