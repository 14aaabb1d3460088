"""Tracks, modules, lessons, progress, practice quizzes and readiness."""
