"""Make the repository's packages and site_scons helpers importable in every test."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "site_scons")):
    if path not in sys.path:
        sys.path.insert(0, path)
