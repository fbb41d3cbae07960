import pytest

import variants
from harness.design import AXES, FIXED, ORIGINAL, Design, differing_axes
from harness.errors import VariantError
from variants.registry import register_variant, select_variants, unregister_variant


def test_original_and_fixed_follow_the_axis_table():
    for axis in AXES.values():
        assert getattr(ORIGINAL, axis.name) == axis.original
        assert getattr(FIXED, axis.name) == axis.fixed
    assert ORIGINAL.differences(FIXED).keys() == {a.name for a in differing_axes()}
    assert len(differing_axes()) == 8


def test_every_ablation_differs_from_its_base_in_exactly_one_axis():
    for name in variants.list_variants("original[+-]*"):
        diff = variants.get_variant(name).design.differences(ORIGINAL)
        assert len(diff) == 1, name
    for name in variants.list_variants("fixed-*"):
        diff = variants.get_variant(name).design.differences(FIXED)
        assert len(diff) == 1, name


def test_both_directions_exist_for_every_fix():
    for axis in differing_axes():
        assert f"original+{axis.fix}" in variants.list_variants()
        assert f"fixed-{axis.fix}" in variants.list_variants()
    assert "original-clipping" in variants.list_variants()
    assert variants.get_variant("fixed-clipping").design.clip_norm is None


def test_selection_all_names_globs_and_lists_keep_order_without_duplicates():
    everything = variants.list_variants()
    assert [v.name for v in select_variants("all")] == [
        n for n in everything
        if n != "original+normalized_points_only" and not n.startswith("corrected-")
        and n not in variants.groups()["aggregators"]]
    # a variant registered outside `all` is still there by name and by glob
    assert "original+normalized_points_only" in [v.name for v in select_variants("original+*")]
    assert [v.name for v in select_variants("fixed,original")] == ["fixed", "original"]
    globbed = [v.name for v in select_variants("fixed-*")]
    assert globbed and all(n.startswith("fixed-") for n in globbed)
    mixed = [v.name for v in select_variants("original, original+*, original")]
    assert mixed[0] == "original" and mixed.count("original") == 1


def test_unknown_name_lists_close_matches():
    with pytest.raises(VariantError, match=r"unknown variant 'fixd'.*did you mean fixed"):
        select_variants("fixd")
    with pytest.raises(VariantError, match=r"no variant matches 'nothing-\*'"):
        select_variants("nothing-*")


def test_bad_design_values_and_duplicates_are_errors():
    with pytest.raises(VariantError, match="design axis 'coord_head' has no value 'gru'"):
        Design(coord_head="gru")
    with pytest.raises(VariantError, match="unknown design axis 'optimizer'"):
        FIXED.replace(optimizer="sgd")
    with pytest.raises(VariantError, match="already registered"):
        register_variant("fixed", "again", FIXED)


def test_decorator_registration_and_user_file(tmp_path):
    @register_variant("test-decorated", "a decorated variant")
    def _():
        return FIXED.replace(warmup="none")
    try:
        assert variants.get_variant("test-decorated").design.warmup == "none"
    finally:
        unregister_variant("test-decorated")

    user_file = tmp_path / "my_variants.py"
    user_file.write_text(
        "from harness.design import FIXED\n"
        "from variants import register_variant\n"
        "register_variant('mine', 'fixed without routing, per my team', "
        "FIXED.replace(routing='all'))\n")
    try:
        added = variants.load_variants_file(user_file)
        assert [v.name for v in added] == ["mine"]
        assert added[0].source == str(user_file)
    finally:
        unregister_variant("mine")


def test_broken_user_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(VariantError, match=r"bad\.py: loading the variants file failed: "
                                           r"RuntimeError: boom"):
        variants.load_variants_file(bad)


def test_the_placebo_is_fixed_in_all_with_its_own_noise_stream_and_fingerprint():
    from types import SimpleNamespace
    from harness.results import run_fingerprint
    placebo, fixed = variants.get_variant("placebo"), variants.get_variant("fixed")
    assert "placebo" in [v.name for v in variants.select_variants("all")]
    assert placebo.design == fixed.design and (placebo.noise_salt, fixed.noise_salt) == (1, 0)
    assert placebo.to_dict()["noise_salt"] == 1 and "noise_salt" not in fixed.to_dict()
    settings = SimpleNamespace(fingerprint=lambda: "settings")
    assert run_fingerprint(settings, placebo) != run_fingerprint(settings, fixed)


def test_a_bad_noise_salt_is_an_error():
    with pytest.raises(VariantError, match="noise_salt"):
        register_variant("salty", "a variant", FIXED, noise_salt=-1)
