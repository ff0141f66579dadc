"""Fixtures for the codegen tests (helpers live in codegen_helpers.py)."""
import pytest

import codegen_helpers  # noqa: F401  (puts the repository root on sys.path)


@pytest.fixture
def paddle_seeded():
    import paddle
    paddle.seed(1234)
    return paddle
