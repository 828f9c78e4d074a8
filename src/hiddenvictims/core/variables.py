"""What each variable in a results folder's ``idata.nc`` means: ``long_name``, ``units``,
``description`` attributes (CF style), so that a reader of the file needs no docs to tell
``N_hidden`` (not on the register) from ``N_unseen`` (on no source at all).

Every variable of every group gets the three attributes: known names from :data:`CATALOGUE`,
``*_total`` as the sum over strata of its base, anything else a generic entry that points to
the model docs. Pure: returns a new InferenceData.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import arviz as az

PEOPLE = "people"
SHARE = "1 (fraction)"
LOG = "log scale (natural)"

#: name -> (long_name, units, description)
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "N": (
        "population size",
        PEOPLE,
        "Total number of people in the population: observed on at least one list plus hidden.",
    ),
    "N_hidden": (
        "hidden people",
        PEOPLE,
        "People the (linked) lists did not record: N minus the observed. With an "
        "anonymous list (the chat) it is N minus the registered, so it includes chat "
        "users who are on no register (compare N_unseen).",
    ),
    "observed_share": ("share observed", SHARE, "Observed (registered) people divided by N."),
    "N_registered": ("registered people", PEOPLE, "People on the linked list(s), e.g. the CoMensha register."),
    "N_anonymous": (
        "people seen by the anonymous list",
        PEOPLE,
        "People the anonymous list (the chat) saw, registered or not.",
    ),
    "N_both": ("people on both", PEOPLE, "People both registered and seen by the chat."),
    "N_unseen": (
        "people seen by no source",
        PEOPLE,
        "People neither registered nor seen by the chat: the never-seen cell. Smaller "
        "than N_hidden by the chat users who are not registered.",
    ),
    "share_anonymous": ("share seen by the chat", SHARE, "N_anonymous divided by N."),
    "theta": (
        "chat-register dependence",
        LOG,
        "Log odds ratio between being seen by the chat and being registered (< 0: "
        "avoidance, > 0: referral); not identified by the data, set by its prior.",
    ),
    "sensitivity": (
        "self-report sensitivity",
        SHARE,
        "Probability that a registered chat user says 'known to police or care'.",
    ),
    "false_known": (
        "self-report false-known rate",
        SHARE,
        "Probability that an unregistered chat user says 'known to police or care'.",
    ),
    "beta": ("log-linear coefficients", LOG, "Main effects and interactions of the log-linear model, by term."),
    "log_mu0": ("log expected hidden count", LOG, "Intercept: log expected number of people on no list."),
    "z": (
        "standardised coefficients",
        "1",
        "Sampled coordinates: coefficients = mode + M z (see docs/architecture.md).",
    ),
    "eta": ("capture log-odds by class", LOG, "Latent-class capture probabilities, logit scale."),
    "log_s": ("class weights (log)", LOG, "Latent-class stick-breaking weights, log scale."),
    "alpha": ("class concentration", "1", "Concentration of the latent-class weights."),
    "p0": ("probability of no capture", SHARE, "Probability that a person is on no list."),
    # sample_stats (ArviZ names)
    "lp": ("log posterior density", LOG, "Unnormalised log posterior of the draw."),
    "acceptance_rate": ("acceptance rate", SHARE, "Mean acceptance probability of the step."),
    "diverging": ("divergent transition", "boolean", "True: the step diverged (bias risk)."),
    "divergences": ("divergences so far", "count", "Cumulative divergent transitions."),
    "energy": ("Hamiltonian energy", "1", "NUTS energy of the draw."),
    "energy_error": ("energy error", "1", "Change in energy over the trajectory."),
    "max_energy_error": ("largest energy error", "1", "Largest energy change in the trajectory."),
    "n_steps": ("leapfrog steps", "count", "Leapfrog steps taken for the draw."),
    "step_size": ("step size", "1", "Leapfrog step size."),
    "step_size_bar": ("adapted step size", "1", "Step size averaged over tuning."),
    "tree_depth": ("tree depth", "count", "NUTS tree depth."),
    "reached_max_treedepth": ("max tree depth reached", "boolean", "True: trajectory cut short."),
}


def describe_variable(name: str, family: str = "") -> tuple[str, str, str]:
    """(long_name, units, description) of a variable name."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    base = name.removesuffix("_total")
    if base != name and base in CATALOGUE:
        long_name, units, description = CATALOGUE[base]
        return f"{long_name}, all strata", units, f"{description} Summed over all strata."
    where = f" (family '{family}')" if family else ""
    return name.replace("_", " "), "", f"Model or sampler quantity{where}; see docs/models.md."


def describe(idata: az.InferenceData, family: str = "") -> az.InferenceData:
    """A copy of ``idata`` whose every data variable carries long_name, units, description."""
    out = idata.copy()
    for group in out.groups():
        ds = out[group]
        for name in ds.data_vars:
            long_name, units, description = describe_variable(str(name), family)
            ds[name].attrs.update({"long_name": long_name, "units": units, "description": description})
    return out
