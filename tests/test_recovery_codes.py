"""Recovery codes people can write down and type back (issue: recovery codes with copy/download and an unambiguous
alphabet): no 0/o or 1/l/i among them; a 0 or 1 typed for an older code's o or l still works; the page offers the
codes as a download and a copy button. Unit tier."""

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import twofactor

from .two_factor_support import code_at, current_step, enrol

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def test_new_codes_have_no_character_to_mistake(alice):
    _, codes = enrol(alice)
    assert len(codes) == twofactor.RECOVERY_CODES == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}", code), code
    # typed in capitals, without the dash, with spaces: the same code, once
    typed = " ".join(codes[0].replace("-", "").upper())
    assert twofactor.check_code(alice, typed, "127.0.0.1", "login").ok
    assert not twofactor.check_code(alice, codes[0], "127.0.0.1", "login").ok


def test_an_older_code_typed_with_0_and_1_still_works(alice):
    enrol(alice)
    static = StaticDevice.objects.get(user=alice)
    old = "lo7llo2a"  # base32 as the codes before this alphabet: l, o and i possible, 0 and 1 never
    StaticToken.objects.create(device=static, token=twofactor.recovery_hash(old))
    assert twofactor.check_code(alice, "1O71-1O2A", "127.0.0.1", "login").ok


def test_the_page_offers_a_download_and_a_copy(alice, client):
    client.force_login(alice)
    assert client.get(reverse("two-factor-enrol")).status_code == 200
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    done = client.post(reverse("two-factor-enrol"), {"code": code_at(device.bin_key, current_step())}).content.decode()
    codes = re.findall(r'class="recovery-code">([^<]+)<', done)
    assert len(codes) == 10
    link = re.search(r'id="recovery-download" download="[^"]+"\s+href="data:text/plain;charset=utf-8,([^"]+)"', done)
    assert link is not None
    text = unquote(link.group(1))
    assert text.startswith("Recovery codes for alice") and text.strip().splitlines()[1:] == codes
    assert f'data-codes="{" ".join(codes)}"' in done and "recovery-codes.js" in done
