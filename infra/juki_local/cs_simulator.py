"""What the municipal CS (住基ネット 市町村CS) gives the local system: for now, the batch of unused
住民票コード it designates for the municipality. The full simulator of the CS is issue 6's work."""

from __future__ import annotations

import random

from juki.domain.codes import resident_code_check_digit
from juki.domain.staff import SystemActor
from juki.services.resident_codes import ResidentCodeService, SupplyResult


def designated_codes(count: int, seed: int) -> list[str]:
    """``count`` valid codes, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not a secret
    codes: dict[str, None] = {}
    while len(codes) < count:
        first10 = f"{rng.randrange(10**10):010d}"
        codes[f"{first10}{resident_code_check_digit(first10)}"] = None
    return list(codes)


def supply_pool(service: ResidentCodeService, codes: list[str]) -> SupplyResult:
    return service.supply(codes, SystemActor(name="cs-simulator", request_id="supply"))
