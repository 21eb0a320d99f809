"""The web doors in a real browser (headless Chromium): the console at 1280×800, self-service at 390×844."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from credit_service.services import clients, staff_accounts
from tests.web.browser import chromium, require_browser, screenshot, served
from tests.factories import id_number, violation
from tests.web.support import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _browser_present():
    require_browser()


def _wait_for(driver, css: str):
    return WebDriverWait(driver, 15).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_console_login_shows_name_role_region_and_after_logout_back_shows_the_login_page(make_app, tmp_path):
    app = make_app()
    c = app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    with served(app) as base, chromium(tmp_path / "profile", 1280, 800) as driver:
        driver.get(f"{base}/console/login")
        _wait_for(driver, "input[name=username]")
        screenshot(driver, tmp_path, "1-login")
        driver.find_element(By.NAME, "username").send_keys("li")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/worklist"))
        header = _wait_for(driver, ".who").text
        assert "李经办" in header and "经办人员" in header and "370100" in header
        screenshot(driver, tmp_path, "2-worklist")
        driver.find_element(By.CSS_SELECTOR, ".who button").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/login"))
        driver.back()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/login"))
        _wait_for(driver, "input[name=password]")
        assert "李经办" not in driver.page_source
        screenshot(driver, tmp_path, "3-back-after-logout")


def test_self_service_login_through_the_identity_provider_on_a_phone(make_app, provider, tmp_path):
    provider.set_user("zhang-san", id_number="370102199001011231", name="张三")
    app = make_app(oidc_issuer=provider.issuer, oidc_client_id="credit-service", oidc_client_secret="s3cret")
    with served(app) as base, chromium(tmp_path / "profile", 390, 844, mobile=True) as driver:
        driver.get(f"{base}/me/")
        login = _wait_for(driver, "a.button.primary")
        screenshot(driver, tmp_path, "1-landing")
        login.click()
        WebDriverWait(driver, 15).until(ready.url_contains(provider.issuer))
        _wait_for(driver, "input[name=sub]").send_keys("zhang-san")
        screenshot(driver, tmp_path, "2-provider")
        driver.find_element(By.CSS_SELECTOR, "input[name=sub] ~ button, form button[type=submit]").click()
        WebDriverWait(driver, 15).until(ready.url_to_be(f"{base}/me/"))
        page = _wait_for(driver, "main").text
        assert "张三" in page and "370102********1231" in page
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scroll
        screenshot(driver, tmp_path, "3-me")


def test_console_monthly_report_table_and_charts(make_app, tmp_path):
    app = make_app()
    c = app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    _, token = clients.create_client(c.uow(), c.clock, "intake", "admin")
    client = app.test_client()
    for loss in ("150000.00", "20000.00", "5000.00"):
        body = violation(id_number=id_number(), region="370100", occurred_on="2026-09-01",
                         determined_on="2026-10-09", fund_loss=loss)
        assert client.post("/api/v1/violations", json=body,
                           headers={"Authorization": f"Bearer {token}"}).status_code == 201
    with served(app) as base, chromium(tmp_path / "profile", 1280, 800) as driver:
        driver.get(f"{base}/console/login")
        _wait_for(driver, "input[name=username]").send_keys("li")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/worklist"))
        driver.find_element(By.LINK_TEXT, "月度统计报表").click()
        table = _wait_for(driver, "table.report")
        assert "济南市" in table.text and "150,000" not in table.text  # money in 万元
        assert len(driver.find_elements(By.CSS_SELECTOR, ".charts svg")) == 2
        screenshot(driver, tmp_path, "1-monthly-report")


@pytest.mark.article("第十条")
def test_console_walk_worklist_case_modified_objection_decision_pdf_logout(make_app, tmp_path):
    """第十条 in a real browser at 1280×800: login → worklist → case → decide a modified objection (the
    consequence previewed) → the recomputed measures shown → the decision letter downloaded and read
    with pdftotext → logout, and the back button shows the login page."""
    import time
    from datetime import date

    from selenium.webdriver.support.ui import Select

    from credit_service.services import procedure
    from tests.unit_helpers import acting
    from tests.web.test_documents import pdf_text

    app = make_app()
    c = app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    _, token = clients.create_client(c.uow(), c.clock, "intake", "admin")
    body = violation(id_number=id_number(), region="370100", occurred_on="2026-10-01", determined_on="2026-11-02",
                     fund_loss="150000.00")
    body["subject"]["name"] = "张<b>三</b>"
    measure = app.test_client().post("/api/v1/violations", json=body,
                                     headers={"Authorization": f"Bearer {token}"}).json["measures"][0]
    w = c.workflow()
    procedure.serve_notice(w, acting(), measure["id"], date(2026, 11, 3), date(2026, 11, 4))
    procedure.file_objection(w, acting(), measure["id"], date(2026, 11, 10), "损失金额计算有误", ["费用清单"])
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with served(app) as base, chromium(tmp_path / "profile", 1280, 800) as driver:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        driver.get(f"{base}/console/login")
        _wait_for(driver, "input[name=username]").send_keys("li")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        screenshot(driver, tmp_path, "1-login")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/worklist"))
        rows = _wait_for(driver, "table.worklist").text
        assert "异议复核" in rows and "共 1 项" in rows and body["subject"]["id_number"] not in driver.current_url
        screenshot(driver, tmp_path, "2-worklist")
        driver.find_element(By.LINK_TEXT, "异议复核").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/subjects/"))
        assert body["subject"]["id_number"] not in driver.current_url
        head = _wait_for(driver, ".case-head").text
        assert "张<b>三</b>" in head and "150,000.00" in head  # the markup shown as text, not obeyed
        screenshot(driver, tmp_path, "3-case")
        driver.find_element(By.CSS_SELECTOR, ".decide-objection summary").click()
        form = driver.find_element(By.CSS_SELECTOR, ".decide-objection form")
        Select(form.find_element(By.NAME, "outcome")).select_by_value("modified")
        form.find_element(By.NAME, "fund_loss").send_keys("60000.00")
        form.find_element(By.NAME, "reason").send_keys("经核实损失为6万元")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        consequences = _wait_for(driver, "ul.consequences").text
        assert "撤销措施" in consequences and "新设措施" in consequences
        screenshot(driver, tmp_path, "4-preview")
        driver.find_element(By.CSS_SELECTOR, ".confirm button[type=submit]").click()
        WebDriverWait(driver, 15).until(ready.url_contains("done=objection_decided"))
        measures = _wait_for(driver, "#measures").text
        assert "已撤销" in measures and "异议部分成立" in measures and "60,000.00" in _wait_for(driver, "#violations").text
        assert len(driver.find_elements(By.CSS_SELECTOR, "article.measure")) == 2
        screenshot(driver, tmp_path, "5-case-after-decision")
        driver.find_element(By.CSS_SELECTOR, "a.decision-pdf").click()
        deadline = time.monotonic() + 20
        while not (pdfs := [p for p in downloads.glob("*.pdf")]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pdfs, "the decision letter was not downloaded"
        text = pdf_text(pdfs[0].read_bytes(), tmp_path)
        for expected in ("济南市医疗保障局", "异议复核决定书", "济医保信复〔2026〕0001号", "张<b>三</b>", "异议部分成立",
                         "经核实损失为6万元", "60000.00元"):
            assert expected in text, expected
        driver.find_element(By.CSS_SELECTOR, ".who button").click()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/login"))
        driver.back()
        WebDriverWait(driver, 15).until(ready.url_contains("/console/login"))
        _wait_for(driver, "input[name=password]")
        assert "张<b>三</b>" not in driver.page_source and "李经办" not in driver.page_source
        screenshot(driver, tmp_path, "6-back-after-logout")
