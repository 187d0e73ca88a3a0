"""A realistic context for every message kind, as the callers in lenders and escorts pass it."""

from __future__ import annotations

from notifications.catalogue import KINDS

SAMPLES: dict[str, dict] = {
    "branch_approved": {"branch": "Bandhan Debra", "station": "Debra", "path": "/station/debra/"},
    "branch_rejected": {
        "branch": "Bandhan Debra",
        "station": "Debra",
        "reason": "Registration number not found",
        "path": "/station/debra/lenders/",
    },
    "roster_reminder": {
        "date": "01 Dec",
        "cutoff": "08:30",
        "station": "Debra",
        "path": "/station/debra/lenders/rosters/",
    },
    "sheet_draft_ready": {
        "date": "01 Dec",
        "runs": 7,
        "uncovered": 2,
        "path": "/station/debra/escorts/sheet/2026-12-01/",
    },
    "sheet_published": {
        "reference": "DB-0112-03",
        "agents": "Arup Bag",
        "date": "01 Dec",
        "time": "10:15",
        "meeting_point": "Debra bus stand",
        "contact": "ASI R. Mahato",
        "phone": "+919800000001",
        "path": "/station/debra/lenders/escort/",
    },
    "sheet_changed": {
        "reference": "DB-0112-03",
        "agents": "Arup Bag",
        "date": "01 Dec",
        "time": "10:45",
        "meeting_point": "Debra bus stand",
        "contact": "ASI R. Mahato",
        "phone": "+919800000001",
        "path": "/station/debra/lenders/escort/",
    },
    "trip_unescorted": {
        "agents": "Arup Bag",
        "date": "01 Dec",
        "time": "10:00-12:00",
        "reason": "every team is busy then",
        "phone": "+913222000000",
        "path": "/station/debra/escorts/branch/3/2026-12-01/",
    },
    "run_overdue": {
        "reference": "DB-0112-03",
        "time": "10:15",
        "meeting_point": "Debra bus stand",
        "path": "/station/debra/escorts/runs/3/",
    },
    "run_not_acknowledged": {
        "reference": "R112",
        "time": "10:15",
        "meeting_point": "Debra bus stand",
        "contact": "ASI R. Mahato",
        "phone": "+919800000001",
        "path": "/station/debra/escorts/my-day/",
    },
    "run_silent": {
        "reference": "R112",
        "minutes": 30,
        "since": "10:40",
        "contact": "ASI R. Mahato",
        "phone": "+919800000001",
        "path": "/station/debra/escorts/live/",
    },
    "sos": {
        "reference": "SOS-17",
        "time": "11:02",
        "place": "Radhamohanpur road",
        "name": "Sujit Das",
        "phone": "+919800000002",
        "path": "/station/debra/escorts/sos/17/",
    },
    "incident_recorded": {
        "reference": "INC-5",
        "time": "11:40",
        "place": "Radhamohanpur road",
        "path": "/station/debra/escorts/incidents/5/",
    },
    "sdpo_daily_summary": {
        "date": "01 Dec",
        "stations": 5,
        "rosters": 41,
        "runs": 23,
        "uncovered": 3,
        "incidents": 0,
        "path": "/sdpo/",
    },
}

assert set(SAMPLES) == set(KINDS)

# A DLT template id for every kind and language, as a real sender would have registered.
DLT_IDS = {
    f"{kind}.{language}": f"11070000000000{index:02d}{language_index}"
    for index, kind in enumerate(KINDS)
    for language_index, language in enumerate(("en", "bn"))
}
