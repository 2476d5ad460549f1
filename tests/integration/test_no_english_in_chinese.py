"""Issue 17 item 12: no English reaches the Chinese interface. Every demo account walks every page it can reach
by links (error pages and PDFs included), in Chinese, and every Latin word on it must be one of the few a Chinese
reader is meant to see (scale codes, the product name, file formats).

The message catalogue test (test_platform) finds `_()` strings without a translation; this one finds what never
went through `_()` at all: enum values, f-strings babel cannot extract, English defaults in templates."""
import re
import subprocess
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select

from app.accounts.models import User
from app.demo import DEMO_PASSWORD, load_demo
from app.extensions import db
from app.screening.models import Campaign
from tests.conftest import TOTP_SECRET, Client

# Latin words a Chinese page may carry: scale codes and names as published, the product, formats and units.
ALLOWED = {
    "PHQ", "GAD", "ASQ", "WHO", "SCARED", "CES", "DC", "PHQ-A", "XinQiao", "PDF", "CSV", "XLSX", "TOTP", "English",
    "APP", "ID", "URL", "Excel", "SMS", "DingTalk", "WeCom", "QR", "CES-DC", "Webhook",
    "FHIR", "NDJSON", "LOINC", "Bulk", "Data",  # HL7 FHIR and its Bulk Data format, by their names
    "ZIP", "JSON",
    # Authenticator apps a teacher installs, by their names.
    "Google", "Microsoft", "Authenticator", "FreeOTP",
    "SEC",  # how a DingTalk signing secret begins, so the admin knows which one to paste
}
SKIP = ("/logout", "/lang/", "/static/", "/password/forgot")
PER_PATTERN = 2  # /students/1 and /students/2 are the same page: two of each are enough
# A Latin word, not part of an address or file name, and not an author before a year ("Chen 2013").
WORD = re.compile(r"(?<![\w.@/-])[A-Za-z][A-Za-z-]{2,}(?![\w.@/])(?!\s+(?:et al\.?\s+)?\d{4})")
HREF = re.compile(r'href="([^"#]+)"')


class _Text(HTMLParser):
    """The text a reader sees or hears: no scripts or styles, and nothing marked lang="en" (a published English
    source shown on purpose, beside its Chinese text); titles, placeholders and screen-reader labels included."""
    SKIPPED = {"script", "style", "svg", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.parts = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in self.VOID:
            self.stack.append(tag in self.SKIPPED or attrs.get("lang") == "en")
        if not any(self.stack):
            self.parts += [attrs[a] for a in ("title", "placeholder", "aria-label", "alt") if attrs.get(a)]

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"https?://\S+", " ", " ".join(parser.parts))


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _english(text: str, names: set[str]) -> set[str]:
    return {w for w in WORD.findall(text) if w not in ALLOWED and w not in names}


def _pattern(url: str) -> str:
    """/students/1 and /students/2, or ?band=mild and ?band=severe, are the same page."""
    parts = urlsplit(url)
    keys = sorted(part.split("=")[0] for part in parts.query.split("&") if part)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _walk(client, tmp_path, names) -> dict[str, set[str]]:
    found, seen, patterns = {}, set(), Counter()
    queue = ["/"]
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIP) or patterns[_pattern(url)] >= PER_PATTERN:
            continue
        seen.add(url)
        patterns[_pattern(url)] += 1
        response = client.get(url, follow_redirects=True)
        if response.mimetype == "application/pdf":
            text = _pdf_text(response.data, tmp_path)
        elif response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            text = _visible_text(html)
            for href in HREF.findall(html):
                target = urljoin(url, unescape(href))
                if urlsplit(target).netloc in ("", "localhost") and target.startswith("/"):
                    queue.append(target)
        else:
            continue
        words = _english(text, names)
        if words:
            found[url] = words
    return found, len(seen)


def test_no_english_reaches_a_chinese_page_or_pdf(app, tmp_path):
    with app.app_context():
        info = load_demo()
        db.session.scalar(select(User).where(User.username == "admin")).totp_secret = TOTP_SECRET
        db.session.commit()
        usernames = list(db.session.scalars(select(User.username)))
        # Session codes are random letters and digits: now and then one is all letters (CI met "YTAJRH").
        session_codes = list(db.session.scalars(select(Campaign.session_code)))
    names = set(usernames) | set(session_codes)
    leaks, pages = {}, 0
    for staff in info["staff"]:
        client = Client(app.test_client(), language="zh-CN,zh;q=0.9")
        assert client.login(staff["username"], DEMO_PASSWORD).status_code == 302, staff["username"]
        found, walked = _walk(client, tmp_path, names)
        assert walked > 5, f"{staff['username']} reached only {walked} pages: the walk means nothing"
        pages += walked
        for url, words in found.items():
            leaks[f"{staff['username']} {url}"] = sorted(words)
    # Error pages, for a visitor and a signed-in teacher alike.
    visitor = Client(app.test_client(), language="zh-CN")
    teacher = Client(app.test_client(), language="zh-CN")
    teacher.login("teacher.middle", DEMO_PASSWORD)
    errors = [visitor.get("/no-such-page"), teacher.get("/alerts/999999"), teacher.http.post("/alerts/1/acknowledge")]
    assert [r.status_code for r in errors] == [404, 404, 400]
    for response in errors:
        words = _english(_visible_text(response.get_data(as_text=True)), names)
        if words:
            leaks[f"error {response.status_code}"] = sorted(words)
    assert pages > 100
    assert not leaks, "English on Chinese pages:\n" + "\n".join(f"{k}: {v}" for k, v in sorted(leaks.items()))
