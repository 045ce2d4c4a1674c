"""Shared by the tests of helpers/checks/: run a check that must fail and read its message."""
import pytest

from helpers.checks import CheckFailed


def fails(check, fn, *phrases):
    """Run a check that must fail; assert its message holds every phrase; return the message."""
    with pytest.raises(CheckFailed) as info:
        check(fn)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in message:\n{message}"
    return message
