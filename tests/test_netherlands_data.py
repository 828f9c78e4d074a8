"""Bundled Dutch figures: every number has a documented source; missing figures stay missing."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from hiddenvictims.core.errors import InputError
from hiddenvictims.studies.netherlands import pipeline as nl


@pytest.fixture(scope="module")
def sources_md() -> str:
    return nl.data_path("SOURCES.md").read_text()


def documented_ids(text: str) -> set[str]:
    ids = set()
    for line in text.splitlines():
        m = re.match(r"^\|\s*([a-z0-9_, ]+?)\s*\|", line)
        if m and m.group(1) not in ("source id",):
            ids.update(part.strip() for part in m.group(1).split(","))
    return ids


@pytest.mark.parametrize(
    "loader,column", [(nl.load_registrations, "count"), (nl.load_chat, "value"), (nl.load_rapporteur, "value")]
)
def test_every_number_has_a_documented_source(sources_md, loader, column):
    frame = loader()
    ids = documented_ids(sources_md)
    assert len(frame) > 0
    missing = sorted(set(frame["source"]) - ids)
    assert not missing, f"source ids not described in SOURCES.md: {missing}"
    assert frame["source"].str.len().gt(0).all()


def test_missing_figures_stay_missing():
    reg, chat = nl.load_registrations(), nl.load_chat()
    dutch_2021 = reg[(reg["year"] == 2021) & (reg["population"] == "dutch") & (reg["age"] == "all")]
    assert len(dutch_2021) == 1 and math.isnan(dutch_2021["count"].iloc[0])
    assert dutch_2021["source"].iloc[0] == "not_found"
    minors_2019 = chat[(chat["year"] == 2019) & (chat["quantity"] == "minors")]
    assert math.isnan(minors_2019["value"].iloc[0])
    fd_2021 = chat[(chat["year"] == 2021) & (chat["quantity"] == "first_disclosure_pct")]
    assert math.isnan(fd_2021["value"].iloc[0])
    # a row with a value never says not_found, and a not_found row never has a value
    assert reg.loc[reg["source"] == "not_found", "count"].isna().all()


def test_published_figures():
    fig = nl.dutch_figures().set_index("year")
    assert fig.loc[2019, "register_dutch"] == 244
    assert fig.loc[2020, "register_dutch"] == 155
    assert math.isnan(fig.loc[2021, "register_dutch"])
    assert fig["register_dutch_minor"].isna().all()
    assert list(fig["chat_victims"]) == [299, 250, 285]
    assert math.isnan(fig.loc[2019, "chat_minors"])
    assert fig.loc[2020, "chat_minors"] == 150 and fig.loc[2021, "chat_minors"] == 124
    assert fig.loc[2020, "first_disclosure_pct"] == 65


def test_first_disclosure_range():
    assert nl.known_range(250, 65) == (87.0, 88.0)
    lo, hi = nl.known_range(np.nan, 65)
    assert math.isnan(lo) and math.isnan(hi)


def test_model_data_derives_but_never_invents():
    data = nl.dutch_data()
    obs, _ = data.observations()
    # register: pooled over age where published, missing in 2021; no age split anywhere
    assert obs["regp_w"].tolist() == [1, 1, 0] and obs["regp_n"].tolist()[:2] == [244, 155]
    assert not obs["reg_w"].any()
    # chat: adults = victims - minors where minors are counted; 2019 only the total
    assert obs["chat_T"].tolist() == [[0, 0], [150, 100], [124, 161]]
    assert obs["chat_w"].tolist() == [[0, 0], [1, 1], [1, 1]]
    assert obs["chatp_w"].tolist() == [1, 0, 0]
    # self-reported known-elsewhere only in 2020, as a range
    assert obs["kmis_w"].tolist() == [0, 1, 0]
    assert (obs["kmis_lo"][1], obs["kmis_hi"][1]) == (87, 88)


def test_unknown_bundled_file():
    with pytest.raises(InputError, match="no bundled Netherlands file"):
        nl.data_path("secret.csv")


def test_baseline_config_parses_and_rejects_typos(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = nl.load_config(root / "scenarios" / "netherlands-chat-only.toml")
    assert cfg.kind == "netherlands" and cfg.years == [2019, 2020, 2021]
    assert len(nl.sensitivity_settings(cfg)) >= 3 * 3
    bad = tmp_path / "bad.toml"
    bad.write_text((root / "scenarios" / "netherlands-chat-only.toml").read_text().replace("rw_sd", "rw_sdd"))
    with pytest.raises(InputError, match="rw_sdd"):
        nl.load_config(bad)
