"""Records mapped per second by each adapter, both ways. A benchmark, not a test.

    python -m bench.bench_adapters [--seconds 0.5]

Every figure is measured in the same run as the baseline, plain
`CaseCreate.model_validate` of an already mapped case, and shown as a ratio to it: the
ratio says what the mapping costs on top of validating the common schema, and unlike
the absolute rate it means the same on a laptop and on a CI runner.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from app.adapters import rnpn
from app.adapters.base import InboundReferral, ReferralAdapter
from app.adapters.regional import aggregate
from app.adapters.registry import ADAPTERS, REFERRAL_ADAPTERS
from app.codes import CaseStatus
from app.schemas.cases import CaseCreate, CasePublic, ChildPublic
from app.schemas.referrals import ReferralPublic

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
NOW = datetime(2025, 1, 15, tzinfo=UTC)


def rate(work: Callable[[], int], seconds: float) -> float:
    """Items per second of `work` (which returns how many it did), best of three."""
    best = 0.0
    for _ in range(3):
        done, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            done += work()
        best = max(best, done / elapsed)
    return best


def records(adapter: str) -> list[dict[str, Any]]:
    paths = sorted((FIXTURES / adapter).glob("*.json"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def stored_case(case: CaseCreate) -> CasePublic:
    fields = case.model_dump(exclude={"child", "lead_institution"})
    return CasePublic(
        id=uuid4(),
        status=CaseStatus.OPEN,
        child=ChildPublic(id=uuid4(), **case.child.model_dump()),
        lead_institution="conapina",
        registered_by="dgme",
        created_at=NOW,
        updated_at=NOW,
        version=1,
        **fields,
    )


def stored_referral(inbound: InboundReferral) -> tuple[ReferralPublic, ChildPublic]:
    referral = ReferralPublic(
        id=uuid4(),
        case_id=uuid4(),
        from_institution="minsal",
        to_institution=inbound.referral.to_institution or "conapina",
        **inbound.referral.model_dump(exclude={"to_institution"}),
        status=inbound.status,
        status_reason=inbound.status_reason,
        business_status=inbound.business_status,
        outcome=inbound.outcome,
        consent_override=None,
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )
    return referral, ChildPublic(id=uuid4(), **inbound.child.model_dump())


def over(items: Sequence[Any], each: Callable[[Any], object]) -> Callable[[], int]:
    def work() -> int:
        for item in items:
            each(item)
        return len(items)

    return work


def renderer(adapter: ReferralAdapter[Any]) -> Callable[[Any], object]:
    def render(pair: tuple[ReferralPublic, ChildPublic]) -> object:
        return adapter.from_common(*pair)

    return render


def measurements() -> dict[str, Callable[[], int]]:
    """What to time, by label; each callable maps a batch and says how many."""
    work: dict[str, Callable[[], int]] = {}
    mapped: list[dict[str, Any]] = []
    for name, adapter in ADAPTERS.items():
        native = records(name)
        cases = [adapter.to_common(record) for record in native]
        mapped += [case.model_dump(mode="json") for case in cases]
        work[f"{name} native -> common"] = over(native, adapter.to_common)
        stored = [stored_case(case) for case in cases]
        work[f"{name} common -> native"] = over(stored, adapter.from_common)

    for name, referral_adapter in REFERRAL_ADAPTERS.items():
        bundles = records(name)
        pairs = [stored_referral(referral_adapter.to_common(b)) for b in bundles]
        work[f"{name} native -> common"] = over(bundles, referral_adapter.to_common)
        work[f"{name} common -> native"] = over(pairs, renderer(referral_adapter))

    work |= outbound(mapped)
    work["baseline CaseCreate.model_validate"] = over(mapped, CaseCreate.model_validate)
    return work


def outbound(mapped: list[dict[str, Any]]) -> dict[str, Callable[[], int]]:
    person = (FIXTURES / "rnpn" / "persona_nui.json").read_bytes()
    answers = [httpx.Response(200, content=person)] * 10
    cases = [stored_case(CaseCreate.model_validate(m)) for m in mapped] * 20
    as_of = date(2025, 1, 31)

    def regional() -> int:
        aggregate(cases, as_of=as_of)
        return len(cases)

    # NOTE: times the RNPN record mapping only; the network is the real cost there.
    return {
        "rnpn person -> child": over(answers, rnpn._parse),
        "regional cases -> report": regional,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    seconds = parser.parse_args(argv).seconds

    rates = {label: rate(work, seconds) for label, work in measurements().items()}
    baseline = rates["baseline CaseCreate.model_validate"]
    out = sys.stdout
    out.write(f"{'mapping':<38}{'records/s':>12}{'vs baseline':>13}\n")
    for label, per_second in rates.items():
        out.write(f"{label:<38}{per_second:>12,.0f}{per_second / baseline:>12.2f}x\n")


if __name__ == "__main__":
    main()
