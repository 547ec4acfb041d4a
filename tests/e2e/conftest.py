"""One emulator process for the e2e suite; tests create what they change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import running_emulator


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with running_emulator() as url:
        yield url
