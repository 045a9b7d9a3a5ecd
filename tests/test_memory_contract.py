"""Every registered memory passes the shared contract (tests/memory_contract.py)."""

import dataclasses
import functools

import pytest
from memory_contract import (
    build_small,
    check_backends_agree,
    check_chunking,
    check_episodes_independent,
    check_reset_cuts_gradient,
    check_step_matches_sequence,
    check_transforms,
    make_case,
)

from ssm_rl import available_memories, layer_class

NAMES = available_memories()
SCAN_NAMES = [n for n in NAMES if "backend" in {f.name for f in dataclasses.fields(layer_class(n))}]


@functools.cache
def case_for(name):
    return make_case(build_small(name))


@pytest.fixture(params=NAMES)
def case(request):
    return case_for(request.param)


def test_step_matches_sequence(case):
    check_step_matches_sequence(case)


def test_episodes_independent(case):
    check_episodes_independent(case)


def test_chunking(case):
    check_chunking(case)


def test_reset_cuts_gradient(case):
    check_reset_cuts_gradient(case)


def test_transforms(case):
    check_transforms(case)


@pytest.mark.parametrize("name", SCAN_NAMES)
def test_backends_agree(name):
    check_backends_agree(case_for(name))
