"""Issue 17 item 13: every list page reads well on a 390 px phone. Names wrapped one character a line (the
homeroom list, the doctor's queue) and header cells stood vertically ("学/生"): Chinese may break between any two
characters, so a squeezed table broke every word. Each role's list pages, from the demo, on a phone: the page is
no wider than the screen, and no short Chinese word in a table (a name, a header, a status) spans two lines."""
import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.demo import DEMO_PASSWORD, load_demo
from app.extensions import db
from app.orgs.models import School
from tests.browser.conftest import login, screenshot
from tests.conftest import TOTP_SECRET

PHONE = {"width": 390, "height": 844}

# Every cell whose text is a short Chinese word (no spaces, up to 8 characters) must sit on one line.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('table th, table td')) {
    if (cell.offsetParent === null) continue;  // not shown on this screen
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      if (!text || text.length > 8 || /\\s/.test(text) || !/[\\u4e00-\\u9fff]/.test(text)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => r.top);
      if (tops.length && Math.max(...tops) - Math.min(...tops) > 4) broken.push(text);
    }
  }
  return broken;
}"""


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo()
        db.session.scalar(select(User).where(User.username == "admin")).totp_secret = TOTP_SECRET
        db.session.commit()
        return {"school": db.session.scalar(select(School.id).order_by(School.id))}


def test_every_list_page_reads_well_on_a_phone(app, live_server, chromium, demo):
    school = demo["school"]
    pages = {
        "homeroom.middle": ["/homeroom"],
        "doctor.chen": ["/doctor", "/alerts"],
        "teacher.middle": ["/teacher", "/alerts", "/rosters", f"/schools/{school}/classes", "/classes/1",
                           "/admin/accounts", "/inbox"],
        "admin": ["/admin", "/admin/schools", "/admin/hospitals", "/admin/agreements", "/admin/accounts", "/rosters"],
    }
    problems = []
    for username, paths in pages.items():
        context = chromium.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                       locale="zh-CN")
        page = context.new_page()
        login(page, live_server, username, app=app, password=DEMO_PASSWORD)
        for path in paths:
            page.goto(live_server + path)
            page.wait_for_load_state()
            assert page.locator("h1").count() >= 1, f"{username} {path}: {page.url}"
            screenshot(page, f"phone-tables-{username}{path.replace('/', '-')}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{username} {path}: the page is {width} px wide")
            broken = page.evaluate(BROKEN_WORDS)
            if broken:
                problems.append(f"{username} {path}: words broken across lines: {broken[:8]}")
        context.close()
    assert not problems, "\n".join(problems)


def test_the_main_navigation_is_one_row_on_a_phone_and_every_link_is_reached(app, live_server, chromium, demo):
    """The teacher's and the admin's ten links wrapped to four rows, a third of a phone's screen above the page:
    on a phone they stay on one row that scrolls sideways, and the last link is still there to tap."""
    for username, heading in (("teacher.middle", "学期报告"), ("admin", "导出记录")):
        context = chromium.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                       locale="zh-CN")
        page = context.new_page()
        login(page, live_server, username, app=app, password=DEMO_PASSWORD)
        nav = page.locator("nav.mainnav")
        links = nav.locator("a")
        assert links.count() == 10
        tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(links.count()))}
        assert len(tops) == 1, f"{username}: the links sit on {len(tops)} rows"
        assert nav.bounding_box()["height"] < 60
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, f"phone-nav-{username}")
        links.last.tap()
        page.wait_for_load_state()
        assert heading in page.locator("h1").first.inner_text(), f"{username}: {page.url}"
        context.close()
