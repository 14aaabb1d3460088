"""The first-cohorts study, small: candidates through the exam service, the platform's
calibration run and activation; items under the minimum keep their provisional parameters."""

from bench import first_cohorts


def test_two_small_cohorts_calibrate_and_activate_through_the_services(tmp_path):
    args = first_cohorts.parse(
        ["--draws", "1", "--cohorts", "40,40", "--items", "70", "--min-responses", "25",
         "--sh-examinees", "20", "--sh-iterations", "1", "--check-examinees", "10",
         "--review-examinees", "10"]
    )  # fmt: skip
    first, second = first_cohorts.draw(0, args, first_cohorts.settings_for(tmp_path, args))
    assert (first["mode"], second["mode"]) == ("free", "full")
    assert first["run_status"] == second["run_status"] == "done"
    assert second["revision"] != first["revision"]  # the second cohort sat the calibrated one
    assert first["kept_provisional"] > 0 and first["kept_unchanged"] is True
    assert second["kept_unchanged"] is True
    for row in (first, second):
        assert 0.5 <= row["accuracy"] <= 1 and 0.5 <= row["true_cat_accuracy"] <= 1
        assert 30 <= row["mean_length"] <= 60 and 0 < row["max_exposure"] <= 1
    # estimates from the stored responses are nearer the truth than the authors' ratings
    assert second["rmse_b_estimated"] < second["provisional_rmse_b_estimated"]


def test_the_study_at_its_defaults_derives_exposure_as_production_does(tmp_path):
    from app.core.config import Settings

    used, production = first_cohorts.settings_for(tmp_path, first_cohorts.parse([])), Settings()
    fields = [f for f in Settings.model_fields if f.startswith("exposure_")]
    fields.append("calibration_review_examinees")
    assert {f: getattr(used, f) for f in fields} == {f: getattr(production, f) for f in fields}


def test_the_parameter_error_study_runs_the_cawm_policy_candidates_get(session, clock):
    """bench/study_parameter_error.py: length limits, cut, interval, randomesque and blueprint
    weights are those an attempt on CAWM freezes."""
    from app.exams import engine_bridge as bridge
    from app.exams import exposure
    from bench import study_parameter_error as study

    live = bridge.cat_policy(exposure.attempt_policy(session, track="CAWM", now=clock()))
    used = study.study_policy()
    keys = ("min_items", "max_items", "cut_theta", "ci_level", "ci_rule", "randomesque_k")
    assert {k: getattr(used, k) for k in keys} == {k: getattr(live, k) for k in keys}
    assert sorted(w for _, w in used.blueprint) == sorted(w for _, w in live.blueprint)
