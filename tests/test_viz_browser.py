"""The browser app in a real browser: `huzhu viz` on 127.0.0.1, driven by Playwright in
headless Chromium, with no network beyond this machine.

`make test` installs Debian's Chromium when it is missing; in CI a missing browser fails
the test instead of skipping it. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from huzhu.model.calendar import Calendar
from huzhu.model.parameters import get_parameter
from huzhu.viz import browser, controls

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
STEPS = 4

if browser.chromium_path() is None:
    message = "no Chromium at /usr/bin/chromium: `make test` installs Debian's chromium package"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="module")
def address():
    ARTIFACTS.mkdir(exist_ok=True)
    with browser.served_app(log_path=ARTIFACTS / "viz-server.log") as url:
        yield url


@pytest.fixture
def page(address, request):
    with browser.browser_page() as page:
        traffic = browser.Traffic(page)
        page.goto(address)
        browser.wait_until_rendered(page)
        page.traffic = traffic
        yield page
        # The page as the test left it, passed or failed.
        page.screenshot(path=str(ARTIFACTS / f"viz-{request.node.name}.png"), full_page=True)


def test_the_page_renders_the_date_the_network_and_every_panel_from_this_machine_alone(page):
    assert page.locator("#huzhu-date").inner_text() == f"{get_parameter('launch_date').default:%d %b %Y}"
    assert len(browser.figure_sources(page)) == browser.FIGURES_ON_PAGE
    for control in ("n_agents", "fee_rate", "annual_cap_cny", "contagion_strength", "price_sensitivity", "seed"):
        assert page.get_by_role("slider", name=control, exact=True).count() == 1, control
    for name in ("Reset", "Step"):
        assert page.get_by_role("button", name=name, exact=True).is_visible()
    page.screenshot(path=str(ARTIFACTS / "viz-start.png"), full_page=True)
    assert page.traffic.hosts() == {"127.0.0.1"}
    assert page.traffic.failures == []


def test_each_step_moves_the_date_on_by_a_period_and_redraws_every_figure(page):
    calendar = Calendar(get_parameter("launch_date").default)
    members = []
    for step in range(STEPS):
        before = browser.figure_sources(page)
        browser.step_and_wait(page)
        assert page.locator("#huzhu-period").inner_text() == str(step)
        assert page.locator("#huzhu-date").inner_text() == f"{calendar.date(step):%d %b %Y}"
        after = browser.figure_sources(page)
        assert all(new != old for new, old in zip(after, before, strict=True))
        members.append(float(page.locator("#huzhu-members").inner_text().replace(",", "")))
    # The plotted members rise from the launch campaign on (ODD 7.4): every early period adds joiners.
    assert members == sorted(members) and members[0] < members[-1]
    page.screenshot(path=str(ARTIFACTS / "viz-stepped.png"), full_page=True)
    assert page.traffic.hosts() == {"127.0.0.1"}


def test_a_moved_slider_takes_effect_on_reset_which_rebuilds_the_model(page):
    browser.step_and_wait(page)
    fee = browser.set_slider(page, "fee_rate", 7)
    assert fee == pytest.approx(0.15)
    agents = browser.set_slider(page, "n_agents", -2)
    assert agents == controls.VIEW_AGENTS - 2 * controls.STEPS["n_agents"]
    settings = page.locator("#huzhu-settings")
    assert "fee_rate 0.08" in settings.inner_text()  # the running model keeps its parameters until Reset
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("(document.querySelector('#huzhu-settings')?.textContent ?? '').includes('fee_rate 0.15')")
    browser.wait_until_rendered(page)
    assert settings.inner_text().startswith(f"{int(agents):,} agents")
    assert page.locator("#huzhu-period").count() == 0  # a new model: no period run yet
    browser.step_and_wait(page)
    assert page.locator("#huzhu-period").inner_text() == "0"
    page.screenshot(path=str(ARTIFACTS / "viz-reset.png"), full_page=True)


def test_the_market_preset_shows_every_platform_and_the_plan_picked(page):
    # Pick the market preset in the scenario select, at 20,000 agents so a step is quick.
    page.get_by_role("button", name="scenario preset").click()
    page.get_by_role("option", name="market", exact=True).click()
    browser.set_slider_to(page, "n_agents", 20_000, controls.STEPS["n_agents"])
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("(document.querySelector('#huzhu-settings')?.textContent ?? '').includes('preset market')")
    browser.wait_until_rendered(page)
    # The market starts with its first platform (2016), before Xianghubao's launch.
    assert page.locator("#huzhu-date").inner_text() == "01 Jan 2016"
    assert len(browser.figure_sources(page)) == browser.FIGURES_ON_PAGE + 1  # the platforms panel
    for _ in range(3):
        browser.step_and_wait(page)
    page.get_by_role("button", name="plan shown in the panels").click()
    page.get_by_role("option", name="qingsong.critical_illness", exact=True).click()
    page.wait_for_function("(document.querySelector('#huzhu-period')?.parentElement?.textContent ?? '')"
                           ".includes('of qingsong.critical_illness')")  # fmt: skip
    browser.step_and_wait(page)
    assert float(page.locator("#huzhu-members").inner_text()) > 0  # Qingsong has members in 2016
    page.screenshot(path=str(ARTIFACTS / "viz-market.png"), full_page=True)
    assert page.traffic.hosts() == {"127.0.0.1"}
