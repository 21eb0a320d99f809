"""Python's cyclic garbage collector paused around a bulk operation.

An import of 10,000 rows allocates about a million short-lived objects (row dicts, inputs, decisions,
audit payloads), none of them in reference cycles: reference counting frees them all. With the collector
running, those allocations set off hundreds of collections, and the few full ones walk every object of
the worker — the status index's included — costing a fifth of the import's time (issue 13, item 9).
The collector is re-enabled afterwards if it was on; a thread that runs meanwhile merely collects later.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from functools import wraps


@contextmanager
def gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def with_gc_paused(function):
    @wraps(function)
    def wrapper(*args, **kwargs):
        with gc_paused():
            return function(*args, **kwargs)
    return wrapper
