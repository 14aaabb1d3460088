"""The learner's home: composes progress (courses), readiness (itembank), exams and certificates."""
