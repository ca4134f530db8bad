"""Shared test setup: quiet TensorFlow, import the oracles from tests/oracle.py."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# generated C projects share their kernel sources: each object is compiled once per run of the suite
# (platforms/codegen/runner.py _compile; content-keyed, so a changed kernel or flag compiles again)
os.environ.setdefault("EDGERUN_OBJECT_CACHE", os.path.join(os.path.dirname(__file__), ".model_cache", "objects"))
# the interpreter's plan cache (runtime/plan_cache.py) is on for users; tests prepare every model they load
# (many patch prepare-time code), except tests/runtime/test_plan_cache.py, which turns it on in a folder of its own
os.environ.setdefault("EDGERUN_PLAN_CACHE", "0")
sys.path.insert(0, os.path.dirname(__file__))
