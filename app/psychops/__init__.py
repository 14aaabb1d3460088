"""Psychometric operations: monitoring of live pools, response data, item analysis.

A read model over the exam records and the pool revisions (like app/reports), with the
administrator's pages; pool revisions themselves live in app/itembank/pools.py and their
exposure control in app/exams/exposure.py.
"""
