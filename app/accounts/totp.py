"""Second factor: RFC 6238 time-based codes (pyotp) and the enrolment QR code (segno, inline SVG)."""
import pyotp
import segno

ISSUER = "XinQiao"
VALID_WINDOW = 1  # accept the previous and next 30-second step: phone clocks drift


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG (no script, no external asset) that authenticator apps can scan."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#1b1b1b", light="#ffffff")


def matching_step(secret: str, code: str, at) -> int | None:
    """The time step the code belongs to (within the window), or None when it is wrong."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(at)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step + offset), code):
            return step + offset
    return None
