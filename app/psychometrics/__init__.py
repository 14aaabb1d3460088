"""Pure IRT core: 3PL model, ability estimation, CAT selection, stopping, scoring, calibration.

Imports numpy, scipy and the standard library only (an import-linter contract enforces it).
The exam delivery uses :mod:`app.psychometrics.engine`; the simulator uses the same functions.
"""
