"""The self-service walk of issue 12 in a real browser (headless Chromium, 390×844, as a phone): login at
the test OIDC provider → today says 暂停 with the restore date → the notice PDF opens → an objection with
a PDF evidence file is filed → it is on the console's worklist (same database) → staff decide it with the
case page's form → the person's page shows the outcome and the decision letter. Screenshots under tmp_path, checked non-blank."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from credit_service.adapters.orm import ObjectionRow
from credit_service.services import staff_accounts
from tests.web.browser import chromium, require_browser, screenshot, served
from tests.web.selfservice_support import NUMBER, person_app, staff_decide_objection, staff_worklist, suspended
from tests.web.support import PASSWORD

pytestmark = pytest.mark.browser

EVIDENCE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(autouse=True)
def _browser_present():
    require_browser()


def _wait_for(driver, css: str):
    return WebDriverWait(driver, 15).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def _fetch(driver, url: str) -> requests.Response:
    """GET `url` with the browser's session cookie (what the browser would download)."""
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    return requests.get(url, cookies=cookies, timeout=30)


def _pdf_page_png(pdf: bytes, directory, name: str):
    """The first page of a PDF as PNG (poppler), so the letter itself can be looked at."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: ./dev test installs Debian's poppler-utils")
    source = directory / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(directory / name)], check=True, timeout=60)
    return directory / f"{name}.png"


@pytest.mark.article("第十条")
def test_person_walk_login_today_notice_objection_staff_decision_outcome(make_app, provider, tmp_path):
    app = person_app(make_app, provider)
    c = app.extensions["credit_service"]
    measure = suspended(c)  # 6 months from 2026-11-02: restored on 2027-05-02; notice received 2026-11-20
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    provider.set_user("zhang-san", id_number=NUMBER, name="张三")
    evidence = tmp_path / "收据.pdf"
    evidence.write_bytes(EVIDENCE_PDF)
    shots = tmp_path / "shots"
    shots.mkdir()

    with served(app) as base, chromium(tmp_path / "profile", 390, 844, mobile=True) as driver:
        driver.get(f"{base}/me/")
        _wait_for(driver, "a.button.primary").click()
        WebDriverWait(driver, 15).until(ready.url_contains(provider.issuer))
        _wait_for(driver, "input[name=sub]").send_keys("zhang-san")
        driver.find_element(By.CSS_SELECTOR, "input[name=sub] ~ button, form button[type=submit]").click()
        WebDriverWait(driver, 15).until(ready.url_to_be(f"{base}/me/"))

        verdict = _wait_for(driver, "#verdict").text
        assert "暂停" in verdict and "2027-05-02恢复" in verdict
        assert NUMBER not in driver.page_source and NUMBER not in driver.current_url
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scroll
        button = driver.find_element(By.LINK_TEXT, "提出异议")
        assert button.size["height"] >= 44  # a touch target
        screenshot(driver, shots, "1-today")

        notice_url = driver.find_element(By.PARTIAL_LINK_TEXT, "信用结果告知书").get_attribute("href")
        notice = _fetch(driver, notice_url)
        assert notice.status_code == 200 and notice.headers["Content-Type"] == "application/pdf"
        assert notice.content.startswith(b"%PDF")
        screenshot_of_letter = _pdf_page_png(notice.content, shots, "2-notice")
        _non_blank(screenshot_of_letter)

        button.click()
        _wait_for(driver, "textarea[name=reason]").send_keys("该笔费用为真实发生的住院治疗，有发票为证。")
        driver.find_element(By.CSS_SELECTOR, "input[type=file][name=evidence]").send_keys(str(evidence))
        screenshot(driver, shots, "3-objection-form")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit].primary").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/me/applications"))
        filing = _wait_for(driver, ".filing").text
        assert "复核中" in filing and "收据.pdf" in filing
        screenshot(driver, shots, "4-filed")

        # On the console's worklist (the same database), as the review to be done; decided on its case
        # page (the evidence file listed there) with the console's decide form, previewed then confirmed.
        staff, worklist = staff_worklist(app, "li")
        review = re.search(r'href="(/console/subjects/[^"]+)" class="case-link">异议复核</a></td>\s*<td>参保人 ([^<]+)</td>',
                           worklist)
        assert review and review.group(2) == NUMBER  # staff see the number in the page body ...
        case_url = review.group(1)
        assert NUMBER not in case_url  # ... never in a URL
        case = staff.get(case_url).get_data(as_text=True)
        assert "收据.pdf" in case and "/console/evidence/" in case
        objection = re.search(r'action="/console/subjects/[^"]+/objections/([0-9a-f]+)/decision"', case).group(1)
        after = staff_decide_objection(staff, case_url, objection, "upheld", "经核实，该费用为真实发生的住院治疗。")
        assert "已撤销" in after
        with c.session_factory() as s:
            decided = s.get(ObjectionRow, objection)
            assert decided.state == "decided" and decided.outcome == "upheld" and decided.measure_id == measure

        driver.get(f"{base}/me/applications")
        filing = _wait_for(driver, ".filing").text
        assert "异议成立" in filing and "经核实" in filing
        screenshot(driver, shots, "5-outcome")
        letter_url = driver.find_element(By.PARTIAL_LINK_TEXT, "异议复核决定书").get_attribute("href")
        letter = _fetch(driver, letter_url)
        assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
        _non_blank(_pdf_page_png(letter.content, shots, "6-decision-letter"))

        driver.get(f"{base}/me/")
        verdict = _wait_for(driver, "#verdict").text
        assert "可以联网结算" in verdict  # the measure was revoked by the decision
        screenshot(driver, shots, "7-today-after")


def _non_blank(path) -> None:
    from PIL import Image
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 8, f"{path} looks blank"
