"""The audit trail as use cases and doors see it: a `Change` per state change, staged through the unit
of work (`uow.audit.stage`) and appended to the hash chain when it commits; verifying and anchoring
the chain (CLI, jobs). The chain itself is stored by adapters/audit_trail.py."""
from __future__ import annotations

from ..adapters.audit_trail import (GENESIS, SYSTEM, Actor, Anchor, AnchorRefused, Broken, Change,  # noqa: F401
                                    anchor, canonical, chain_hash, read_anchors, verify)
