"""The fleet in a real browser: from the admin's front page to the services, a stale service's claims, the task
counts down to a failed task's traceback, the anomalies, networks and throughput, and the expiry of the stale
registration."""

from playwright.sync_api import expect

from compute import queries
from identities import store
from tests.compute_support import seed_fleet


def test_fleet_pages_and_expiry(live_server, page, staff_login):
    fleet = seed_fleet(queries.now())
    stale, task = fleet["services"]["stale"], fleet["tasks"]["running_stale"]
    staff_login()
    page.click("text=Compute: services, managers, tasks, anomalies")
    rows = page.locator("#services tr.service-row")
    expect(rows).to_have_count(3)
    page.select_option("select[name=state]", "stale")
    page.click("#services-filter input[type=submit]")
    expect(rows).to_have_count(1)
    page.click(f"text={stale}")
    expect(page.locator("#service-state")).to_have_text("stale")
    expect(page.locator("#claims tr.claim-row")).to_have_attribute("data-task", task)

    page.click("#fleet-nav >> text=Tasks by scope")
    page.locator('tr.scope-row[data-scope="acme-c1-p1"] a').nth(3).click()  # the error count
    page.click("summary:has-text('traceback 1')")
    expect(page.locator("pre.traceback")).to_have_text("Traceback: boom")

    page.click("#fleet-nav >> text=Anomalies")
    expect(page.locator("#anomaly-stale_claims h2")).to_contain_text("Claims held by stale services: 1")
    expect(page.locator("p.as-of")).to_contain_text("Counted at")

    page.click("#fleet-nav >> text=Networks")
    network = fleet["networks"]["active"].key
    expect(page.locator(f'tr.network-row[data-network="{network}"] td.strategy')).to_have_text("awake")
    page.click("#fleet-nav >> text=Throughput")
    expect(
        page.locator(f'#throughput-service tr.throughput-row[data-key="{fleet["services"]["alive"]}"]')
    ).to_be_visible()

    page.click("#fleet-nav >> text=Services")
    page.click("#expire-stale")
    expect(page.locator("#stale tr.stale-row")).to_have_count(1)
    page.click("text=Expire these 1 registrations")
    expect(page.locator(".messagelist")).to_contain_text("1 stale registrations expired; 1 tasks back to waiting")
    assert store.cypher("MATCH (t:Task {_scoped_key: $t}) RETURN t.status", {"t": task}) == [["waiting"]]
    # the kept counts went with the write: the anomaly is gone at once
    page.click("#fleet-nav >> text=Anomalies")
    expect(page.locator("#anomaly-stale_claims h2")).to_contain_text("Claims held by stale services: 0")
