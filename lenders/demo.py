"""Demo lender data for one station: real village names around it, plausible lenders, agents,
a manager login per branch, and rosters for today and tomorrow. Running it again changes
nothing; a new day adds that day's rosters."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stations.demo import demo_user
from stations.models import Station, StationRole, User

from .models import (
    BranchMember,
    CashBand,
    CollectionArea,
    FieldAgent,
    LenderBranch,
    Roster,
    RosterEntry,
)

AREAS = {
    "kharagpur-town": [
        ("Inda", "ইন্দা"),
        ("Malancha", "মালঞ্চ"),
        ("Gate Bazar", "গেট বাজার"),
        ("Golbazar", "গোলবাজার"),
        ("Kharida", "খরিদা"),
        ("Prembazar", "প্রেমবাজার"),
        ("Nimpura", "নিমপুরা"),
        ("Hijli", "হিজলি"),
        ("Talbagicha", "তালবাগিচা"),
        ("Puratan Bazar", "পুরাতন বাজার"),
        ("Subhaspally", "সুভাষপল্লি"),
        ("Saradapally", "সারদাপল্লি"),
    ],
    "kharagpur-rural": [
        ("Kalaikunda", "কলাইকুণ্ডা"),
        ("Gopali", "গোপালী"),
        ("Benapur", "বেনাপুর"),
        ("Barkola", "বড়কোলা"),
        ("Jakpur", "জকপুর"),
        ("Madpur", "মাদপুর"),
        ("Hariatara", "হাড়িয়াতাড়া"),
        ("Chakmakrampur", "চকমকরামপুর"),
        ("Kaupur", "কৌপুর"),
        ("Manikpur", "মানিকপুর"),
        ("Salua", "সালুয়া"),
    ],
    "narayangarh": [
        ("Makrampur", "মকরামপুর"),
        ("Kasba Narayangarh", "কসবা নারায়ণগড়"),
        ("Narma", "নারমা"),
        ("Kunarpur", "কুনারপুর"),
        ("Bakhrabad", "বাখরাবাদ"),
        ("Ranisarai", "রানীসরাই"),
        ("Pakuria", "পাকুড়িয়া"),
        ("Khakurda", "খাকুড়দা"),
        ("Tentulia", "তেঁতুলিয়া"),
        ("Belda Road", "বেলদা রোড"),
    ],
    "debra": [
        ("Debra Bazar", "ডেবরা বাজার"),
        ("Balichak", "বালিচক"),
        ("Radhamohanpur", "রাধামোহনপুর"),
        ("Duan", "দুঁয়া"),
        ("Loyada", "লোয়াদা"),
        ("Bhabanipur", "ভবানীপুর"),
        ("Golgram", "গোলগ্রাম"),
        ("Jalimanda", "জালিমান্দা"),
        ("Chakshyampur", "চকশ্যামপুর"),
        ("Harirajpur", "হরিরাজপুর"),
        ("Kalmijol", "কালমিজোল"),
    ],
    "pingla": [
        ("Pingla Bazar", "পিংলা বাজার"),
        ("Maligram", "মালিগ্রাম"),
        ("Jamna", "জামনা"),
        ("Gobardhanpur", "গোবর্ধনপুর"),
        ("Kusumda", "কুসুমদা"),
        ("Karkai", "করকাই"),
        ("Dhania", "ধনিয়া"),
        ("Jalchak", "জলচক"),
        ("Kshirai", "ক্ষীরাই"),
        ("Rajarampur", "রাজারামপুর"),
    ],
}

LENDERS = [
    ("Bandhan Bank", LenderBranch.Kind.BANK),
    ("Arohan Financial Services", LenderBranch.Kind.MFI),
    ("Village Financial Services", LenderBranch.Kind.MFI),
    ("Ujjivan Small Finance Bank", LenderBranch.Kind.BANK),
    ("Satin Creditcare Network", LenderBranch.Kind.MFI),
    ("Asirvad Microfinance", LenderBranch.Kind.NBFC),
    ("Annapurna Finance", LenderBranch.Kind.MFI),
    ("Paschim Banga Gramin Bank", LenderBranch.Kind.BANK),
]
FIRST = [
    "Sujit",
    "Rakesh",
    "Priyanka",
    "Tapas",
    "Suman",
    "Anup",
    "Mithun",
    "Soma",
    "Biswajit",
    "Rina",
    "Pradip",
    "Goutam",
    "Sourav",
    "Dipak",
    "Sanjay",
    "Mampi",
    "Arup",
    "Tanmoy",
]
LAST = [
    "Mahato",
    "Das",
    "Maity",
    "Jana",
    "Bera",
    "Giri",
    "Pal",
    "Sahoo",
    "Dey",
    "Manna",
    "Samanta",
    "Bhunia",
    "Maji",
    "Dolui",
    "Pradhan",
    "Bag",
]


def _areas(station: Station, rng: random.Random) -> list[CollectionArea]:
    areas = []
    for index, (name, name_bn) in enumerate(AREAS.get(station.slug, [])):
        lat = float(station.latitude or 22.33) + rng.uniform(-0.08, 0.08)
        lon = float(station.longitude or 87.32) + rng.uniform(-0.08, 0.08)
        area, _ = CollectionArea.objects.get_or_create(
            name=name,
            defaults={
                "name_bn": name_bn,
                "locality": station.name,
                "latitude": round(Decimal(lat), 5),
                "longitude": round(Decimal(lon), 5),
                "risk": CollectionArea.Risk.HIGH if index % 4 == 1 else CollectionArea.Risk.NORMAL,
            },
        )
        areas.append(area)
    return areas


def _manager(station: Station, number: int, branch: LenderBranch, password: str) -> User:
    user = demo_user(
        f"{station.slug}-lender{number}",
        password=password,
        first_name=branch.manager_name,
        phone=str(branch.manager_phone),
    )
    BranchMember.objects.get_or_create(
        branch=branch, user=user, defaults={"role": BranchMember.Role.MANAGER}
    )
    StationRole.objects.get_or_create(
        user=user, station=station, defaults={"role": StationRole.Role.LENDER}
    )
    return user


def _agent_login(station: Station, number: int, agent: FieldAgent, password: str) -> User:
    user = demo_user(
        f"{station.slug}-agent{number}",
        password=password,
        first_name=agent.name,
        phone=str(agent.phone),
    )
    BranchMember.objects.get_or_create(
        branch=agent.branch, user=user, defaults={"role": BranchMember.Role.AGENT, "agent": agent}
    )
    StationRole.objects.get_or_create(
        user=user, station=station, defaults={"role": StationRole.Role.LENDER}
    )
    return user


def _roster(branch: LenderBranch, date: datetime.date, agents, areas, rng, by: User) -> None:
    roster, _ = Roster.objects.get_or_create(
        branch=branch,
        date=date,
        defaults={"status": Roster.Status.FILED, "filed_by": by, "filed_at": timezone.now()},
    )
    if roster.entries.exists():
        return
    for agent in agents:
        start = rng.choice([8, 9, 9, 10, 10, 11]) * 60 + rng.choice([0, 15, 30, 45])
        length = rng.choice([90, 120, 150, 180, 240])
        area = rng.choice(areas)
        RosterEntry.objects.create(
            roster=roster,
            agent=agent,
            area=area,
            centres=f"{area.name} centre {rng.randint(1, 6)}",
            depart_at=datetime.time(start // 60, start % 60),
            return_at=datetime.time((start + length) // 60, (start + length) % 60),
            cash_band=rng.choice(CashBand.values),
            vehicle_registration=f"WB 3{rng.randint(3, 4)} {chr(65 + rng.randint(0, 25))} "
            f"{rng.randint(1000, 9999)}",
            deposit_point=f"{branch.lender_name}, {branch.branch_name}",
            created_by=by,
        )


@transaction.atomic
def seed(*, station: Station, password: str) -> list[tuple[str, str]]:
    """Lender demo data for the current station's schema; returns (login, description)."""
    rng = random.Random(station.slug)
    areas = _areas(station, rng)
    logins = []
    lenders = rng.sample(LENDERS, rng.randint(3, 5))
    today = timezone.localdate()
    for number, (lender_name, kind) in enumerate(lenders, start=1):
        manager_name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        branch, _ = LenderBranch.objects.get_or_create(
            lender_name=lender_name,
            branch_name=station.name.split(" (")[0],
            defaults={
                "kind": kind,
                "address": f"Main Road, {station.name.split(' (')[0]}",
                "registration_number": f"N-05.{rng.randint(10000, 99999)}",
                "manager_name": manager_name,
                "manager_phone": f"+9194340{rng.randint(10000, 99999)}",
                "status": LenderBranch.Status.APPROVED,
                "decided_at": timezone.now(),
            },
        )
        manager = _manager(station, number, branch, password)
        logins.append((manager.username, f"lender manager, {branch}"))
        agents = []
        for index in range(rng.randint(3, 8)):
            agent, _ = FieldAgent.objects.get_or_create(
                branch=branch,
                employee_id=f"{lender_name[:3].upper()}{number}{index + 1:03d}",
                defaults={
                    "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "phone": f"+9197330{rng.randint(10000, 99999)}",
                    "id_reference": f"Employee card {index + 1}",
                },
            )
            agents.append(agent)
        agent_user = _agent_login(station, number, agents[0], password)
        logins.append((agent_user.username, f"field agent {agents[0].name}, {branch}"))
        for date in (today, today + datetime.timedelta(days=1)):
            _roster(branch, date, agents, areas, rng, manager)
    return logins
