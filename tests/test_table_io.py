"""Reading capture tables: layouts, canonical order, strata, records vs patterns."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import TEST_DATA, load_benchmark

from hiddenvictims.core.io import read_table
from hiddenvictims.core.table import make_table, pattern_index, pattern_labels, pattern_matrix
from hiddenvictims.data import benchmark_names, benchmark_path

# n observed per table, from the benchmark README.
N_OBSERVED = {
    "uk_2013_6lists": 2744,
    "uk_2013_5lists": 2744,
    "uk_2013_4lists_noGP": 2428,
    "netherlands_2010_2015_6lists": 8234,
    "netherlands_2010_2015_5lists": 8234,
    "us_western_site_5lists": 345,
    "korea_palembang_3lists": 123,
    "artificial_3lists": 96,
    "hiv_lazio_1990_4lists": 1896,
    "lesbian_allegheny_4lists": 2185,
    "spina_bifida_ny_3lists": 621,
    "scotland_pwid_2006_4lists": 5670,
}


def test_every_bundled_table_reads_with_its_published_total():
    assert set(benchmark_names()) == set(N_OBSERVED)
    for name, n in N_OBSERVED.items():
        assert load_benchmark(name).n_observed == n, name


def test_bundled_copies_equal_the_shared_benchmarks():
    """Byte-identical to the originals: SHA-256 recorded in tests/data (see its SOURCES.md)."""
    recorded = dict(reversed(line.split()) for line in (TEST_DATA / "benchmark_tables.sha256").read_text().splitlines())
    assert set(recorded) == {f"{name}.csv" for name in N_OBSERVED}
    for name in N_OBSERVED:
        digest = hashlib.sha256(benchmark_path(name).read_bytes()).hexdigest()
        assert digest == recorded[f"{name}.csv"], name


def test_canonical_pattern_order_is_binary_with_first_list_most_significant():
    pats = pattern_matrix(3)
    assert pattern_labels(3) == ["001", "010", "011", "100", "101", "110", "111"]
    assert np.array_equal(pattern_index(pats), np.arange(1, 8))


def test_pattern_table_places_counts_by_pattern_not_row_order():
    t = load_benchmark("uk_2013_6lists")
    assert t.lists == ("LA", "NG", "PF", "GO", "GP", "NCA")
    assert int(t.counts.sel(pattern="100000")) == 54
    assert int(t.counts.sel(pattern="111100")) == 1
    assert int(t.counts.sel(pattern="000011")) == 1
    assert int(t.counts.sel(pattern="111111")) == 0
    totals = t.list_totals()
    assert int(totals.sel(list="LA")) == 54 + 15 + 19 + 3 + 1 + 1 + 1


def test_records_and_patterns_give_the_same_table(tmp_path):
    rows = ["A,B,C,age"] + ["1,0,0,minor"] * 3 + ["1,1,0,adult"] * 2 + ["0,0,1,adult"]
    (tmp_path / "rec.csv").write_text("\n".join(rows) + "\n")
    rec = read_table(tmp_path / "rec.csv", strata=["age"], lists=["A", "B", "C"])
    pat_rows = ["age,A,B,C,count", "minor,1,0,0,3", "adult,1,1,0,2", "adult,0,0,1,1"]
    (tmp_path / "pat.csv").write_text("\n".join(pat_rows) + "\n")
    pat = read_table(tmp_path / "pat.csv", strata=["age"])
    assert rec.strata == ("age",) and rec.lists == ("A", "B", "C")
    assert (rec.counts == pat.counts).all()
    assert int(rec.counts.sel(age="minor", pattern="100")) == 3
    assert rec.observed.sel(age="adult").item() == 3
    assert rec.data_hash() == pat.data_hash()


def test_drop_list_marginalises():
    t = load_benchmark("uk_2013_5lists")
    four = t.drop_lists(["GP"])
    ref = load_benchmark("uk_2013_4lists_noGP")
    assert four.lists == ref.lists
    assert (four.counts.values == ref.counts.values).all()


def test_structural_zeros_from_inactive_lists():
    counts = np.array([[5, 0, 0, 7, 0, 3, 0], [4, 2, 1, 6, 2, 3, 1]])
    active = np.array([[True, True, False], [True, True, True]])
    # stratum 0: list C inactive -> patterns with C=1 (001, 011, 101, 111) are structural zeros
    counts[0] = [0, 5, 0, 7, 0, 3, 0]
    t = make_table(["A", "B", "C"], counts, strata={"year": [2019, 2020]}, active=active)
    sz = t.structural_zero.sel(year=2019).values
    assert sz.tolist() == [True, False, True, False, True, False, True]
    assert not t.structural_zero.sel(year=2020).values.any()


def test_positive_count_in_structural_zero_is_rejected():
    from hiddenvictims.core.errors import InputError

    with pytest.raises(InputError, match="inactive list"):
        make_table(["A", "B"], np.array([[1, 2, 3]]), strata={"s": ["x"]}, active=np.array([[True, False]]))
