"""Fixtures of the AWS-emulated tier: moto in-process and the lane world.

``world`` builds infra-dev, boot-user-api-dev and the lanes default, gray and
blue in one in-process moto account, each stack fed the real moto outputs of
the layers below it (stack references keyed by ``organization/multilane/<stack>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from components import naming
from emulator import Emulator
from harness.offline import Recording

SERVICE = "user-api"
ENV = "dev"


def image(boot: Recording, tag: str) -> str:
    """An image in the boot stack's (moto) ECR repository."""
    return f"{boot.outputs['RepositoryUrl']}:{tag}"


@dataclass
class World:
    emulator: Emulator
    infra: Recording
    boot: Recording
    lanes: dict[str, Recording] = field(default_factory=dict)

    @property
    def references(self) -> dict[str, dict[str, Any]]:
        return {
            naming.stack_ref(naming.infra_stack(ENV)): self.infra.outputs,
            naming.stack_ref(naming.boot_stack(SERVICE, ENV)): self.boot.outputs,
        }

    def run_lane(
        self, lane: str, *, config: dict[str, Any] | None = None, previous: Recording | None = None
    ) -> Recording:
        rec = self.emulator.run(
            naming.lane_stack(SERVICE, ENV, lane), references=self.references, config=config, previous=previous
        )
        assert rec.placeholder_references == [], "every reference must be served from moto outputs"
        self.lanes[lane] = rec
        return rec

    def client(self, service: str) -> Any:
        return self.emulator.client(service)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        emu = Emulator()
        infra = emu.run(naming.infra_stack(ENV))
        boot = emu.run(
            naming.boot_stack(SERVICE, ENV), references={naming.stack_ref(naming.infra_stack(ENV)): infra.outputs}
        )
        assert boot.placeholder_references == []
        w = World(emu, infra, boot)
        w.run_lane("default")
        w.run_lane("gray", config={"imageUri": image(boot, "sha-gray001")})
        w.run_lane("blue", config={"imageUri": image(boot, "sha-blue001")})
        yield w


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """A fresh in-process moto account and an emulator for it."""
    with mock_aws():
        yield Emulator()
