"""Peer simulators for the local system and the tests: the 住基ネット 市町村CS and the 共通基盤.

Not product code: never deployed, never in the Lambda layer. They play the peers' side of the
contract in docs/linkage.md so the product's adapters can be tested against something that
enforces it (idempotency keys, per-lane order) and misbehaves on demand (faults).
"""

from __future__ import annotations

from simulators.cs import CsSimulator
from simulators.delivery import AppliedMessage
from simulators.faults import Faults
from simulators.platform import PlatformSimulator
from simulators.server import PeerSimulators

__all__ = ["AppliedMessage", "CsSimulator", "Faults", "PeerSimulators", "PlatformSimulator"]
