"""Log in with a real browser and read the system status page."""


def test_login_and_status_page(live_server, page, staff_login, celery_worker_process, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    staff_login()
    page.click("text=System status")
    page.wait_for_selector("#status-table")
    rows = page.locator("#status-table tr.check")
    states = {
        rows.nth(i).get_attribute("data-component"): rows.nth(i).get_attribute("class").split()[-1]
        for i in range(rows.count())
    }
    assert states == {
        "Neo4j": "green",
        "Redis": "green",
        "Celery workers": "green",
        "Backups directory": "green",
        "Operations target": "green",
        "Operation runs": "green",
        "Compute services": "green",
    }
    assert "Every component is reachable" in page.inner_text("#overall")
