"""The live board's map, drawn on the server as SVG from coordinates: the station's collection
areas and the runs' last positions. It needs no internet; a deployment with a tile server of
its own may lay base-map tiles under it (`Station.map_tile_url`), placed by the same Web
Mercator projection the tiles use, so the points sit where the map shows them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

TILE = 256
MAX_ZOOM = 16
# Space kept around the outermost points, in pixels.
PADDING = 28


@dataclass(frozen=True)
class Place:
    """A point to draw: `kind` says how (an area, a run by its stage)."""

    latitude: Decimal | float
    longitude: Decimal | float
    label: str
    kind: str
    title: str = ""
    # A run's position accuracy, drawn as a circle around it.
    accuracy_m: int | None = None


@dataclass(frozen=True)
class Drawn:
    """A point as the SVG draws it; coordinates as text, so a map of hundreds of points costs
    the template no number formatting."""

    x: str
    y: str
    x_mark: str  # an area's square
    y_mark: str
    x_label: str
    y_label: str
    label: str
    kind: str
    title: str
    radius: str  # a run's accuracy circle, "" when it would hide under the dot


@dataclass(frozen=True)
class Tile:
    x: str
    y: str
    href: str


@dataclass
class SvgMap:
    width: int
    height: int
    zoom: int
    areas: list[Drawn] = field(default_factory=list)
    runs: list[Drawn] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)
    scale_text: str = ""
    scale_x: str = ""
    scale_y: str = ""
    scale_text_y: str = ""

    @property
    def empty(self) -> bool:
        return not self.areas and not self.runs


def _n(value: float) -> str:
    return f"{value:.1f}"


def _world(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a point at `zoom`."""
    size = TILE * 2**zoom
    lat = max(-85.0511, min(85.0511, latitude))
    x = (longitude + 180.0) / 360.0 * size
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * size
    return x, y


def _metres_per_pixel(latitude: float, zoom: int) -> float:
    return 156_543.033_92 * math.cos(math.radians(latitude)) / 2**zoom


def _nice(metres: float) -> int:
    """A round length near `metres` for the scale bar: 1, 2 or 5 times a power of ten."""
    power = 10 ** math.floor(math.log10(max(metres, 1)))
    for step in (5, 2, 1):
        if step * power <= metres:
            return int(step * power)
    return int(power)


def tile_origin(url: str) -> str:
    """The scheme and host of a tile URL, for the page's Content Security Policy."""
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    return f"{parts.scheme}://{parts.netloc}"


def draw(places: list[Place], *, tile_url: str = "", width: int = 640, height: int = 420) -> SvgMap:
    """Fit `places` into a `width` x `height` picture at the closest zoom that holds them all."""
    located = [p for p in places if p.latitude is not None and p.longitude is not None]
    if not located:
        return SvgMap(width, height, 0)
    lats = [float(p.latitude) for p in located]
    lons = [float(p.longitude) for p in located]
    zoom = MAX_ZOOM
    while zoom > 1:
        x0, y0 = _world(max(lats), min(lons), zoom)
        x1, y1 = _world(min(lats), max(lons), zoom)
        if x1 - x0 <= width - 2 * PADDING and y1 - y0 <= height - 2 * PADDING:
            break
        zoom -= 1
    x0, y0 = _world(max(lats), min(lons), zoom)
    x1, y1 = _world(min(lats), max(lons), zoom)
    # The picture's top-left corner in world pixels: the points' box, centred.
    left = (x0 + x1) / 2 - width / 2
    top = (y0 + y1) / 2 - height / 2
    middle = sum(lats) / len(lats)
    per_pixel = _metres_per_pixel(middle, zoom)
    drawn = SvgMap(width, height, zoom)
    for place in located:
        x, y = _world(float(place.latitude), float(place.longitude), zoom)
        x, y = x - left, y - top
        radius = min((place.accuracy_m or 0) / per_pixel, width)
        point = Drawn(
            x=_n(x),
            y=_n(y),
            x_mark=_n(x - 4),
            y_mark=_n(y - 4),
            x_label=_n(x + (6 if place.kind == "area" else 8)),
            y_label=_n(y + (4 if place.kind == "area" else -8)),
            label=place.label,
            kind=place.kind,
            title=place.title,
            radius=_n(radius) if radius > 6 else "",
        )
        (drawn.areas if place.kind == "area" else drawn.runs).append(point)
    if tile_url:
        count = 2**zoom
        for tx in range(math.floor(left / TILE), math.floor((left + width) / TILE) + 1):
            for ty in range(math.floor(top / TILE), math.floor((top + height) / TILE) + 1):
                if 0 <= ty < count:
                    href = (
                        tile_url.replace("{z}", str(zoom))
                        .replace("{x}", str(tx % count))
                        .replace("{y}", str(ty))
                    )
                    drawn.tiles.append(Tile(_n(tx * TILE - left), _n(ty * TILE - top), href))
    metres = _nice(per_pixel * width / 4)
    drawn.scale_text = (
        _("%(km)s km") % {"km": metres // 1000}
        if metres >= 1000
        else _("%(metres)s m") % {"metres": metres}
    )
    drawn.scale_x = _n(10 + metres / per_pixel)
    drawn.scale_y = _n(height - 12)
    drawn.scale_text_y = _n(height - 16)
    return drawn
