"""Routing by /station/<slug>/ keeps one URLconf per station between requests, and no request
sees another station's prefix."""

from __future__ import annotations

import gc
import weakref

import pytest
from django.urls import get_resolver, reverse

from stations.middleware import _station_urlconfs
from stations.tests.factories import SubdivisionRoleFactory

pytestmark = pytest.mark.django_db


def test_alternating_stations_reverse_and_resolve_under_their_own_prefix(debra, pingla, client_for):
    # The SDPO of Kharagpur may enter both stations; their landing pages link with {% url %}.
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    for _ in range(2):
        for slug, other in (("debra", "pingla"), ("pingla", "debra")):
            response = client.get(f"/station/{slug}/")
            assert response.status_code == 200
            assert response.resolver_match.route == f"station/{slug}/"
            page = response.content.decode()
            assert f'href="/station/{slug}/escorts/"' in page
            assert f"/station/{other}/" not in page
            home = client.get("/")
            assert home.status_code == 200
            assert home.resolver_match.url_name == "home"


def test_each_station_keeps_its_urlconf_and_resolver_across_requests(debra, pingla, client_for):
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    first = client.get("/station/debra/").wsgi_request.urlconf
    resolver = get_resolver(first)
    pingla_urlconf = client.get("/station/pingla/").wsgi_request.urlconf
    client.get("/")
    again = client.get("/station/debra/").wsgi_request.urlconf
    assert again is first
    assert pingla_urlconf is not first
    # Not rebuilt from every pattern for the next request.
    assert get_resolver(again) is resolver
    assert reverse("escorts:index", urlconf=again) == "/station/debra/escorts/"
    assert reverse("escorts:index", urlconf=pingla_urlconf) == "/station/pingla/escorts/"


def test_stations_that_do_not_exist_share_one_urlconf(client_for, debra):
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    nowhere = client.get("/station/nowhere/")
    elsewhere = client.get("/station/elsewhere/lenders/areas/")
    assert (nowhere.status_code, elsewhere.status_code) == (404, 404)
    # Made-up names grow no cache: they are all answered through one module.
    assert nowhere.wsgi_request.urlconf is elsewhere.wsgi_request.urlconf
    assert not any(subfolder in ("nowhere", "elsewhere") for _, subfolder in _station_urlconfs)


def test_a_station_name_with_a_nul_character_is_answered_as_one_that_does_not_exist(client):
    made_up = client.get("/station/nowhere/lenders/areas/")
    with_nul = client.get("/station/deb%00ra/lenders/areas/")
    assert with_nul.status_code == made_up.status_code == 302
    assert with_nul.wsgi_request.urlconf is made_up.wsgi_request.urlconf


def test_a_process_keeps_the_urlconfs_of_the_stations_served_last_and_lets_the_others_go(
    debra, pingla, client_for, settings
):
    settings.STATION_URLCONF_CACHE_SIZE = 1
    # Debra's module as this test builds it: an earlier test's may still be held by what it left
    # behind (the API schema's generator keeps a few of its mock requests).
    _station_urlconfs.clear()
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    first = weakref.ref(client.get("/station/debra/").wsgi_request.urlconf)
    response = client.get("/station/pingla/")
    assert response.resolver_match.route == "station/pingla/"
    assert [subfolder for _, subfolder in _station_urlconfs] == ["pingla"]
    del response
    gc.collect()
    # Nothing else holds debra's module or its resolver: the memory is given back.
    assert first() is None
    again = client.get("/station/debra/")
    assert again.status_code == 200
    assert again.resolver_match.route == "station/debra/"
    assert 'href="/station/debra/escorts/"' in again.content.decode()
    assert [subfolder for _, subfolder in _station_urlconfs] == ["debra"]
