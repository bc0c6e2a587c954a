"""CatBoost's SHAP values for one applicant, for many applicants in one call.

CatBoost explains an applicant with path-dependent TreeSHAP over its symmetric trees, using the
leaf weights kept in the model as each node's cover. When a leaf that no training row reached
holds a value (monotone constraints leave such leaves behind), CatBoost adds the data it is asked to
explain to that cover, so an applicant's values shift with whoever else shares the call. The
service has always asked one applicant at a time: its reasons, and the records that replay
checks, are those of an applicant alone.

For a symmetric tree an applicant's values depend only on the leaf it falls in, so this module
computes, once per model, each leaf's values exactly as CatBoost does for an applicant alone
in that leaf (the same recursion, the same order, the same treatment of empty nodes). Explaining
any number of applicants is then CatBoost's own leaf lookup plus a sum over trees: the reasons of
each depend on nobody else, and equal CatBoost's one-at-a-time values
(tests/lambda_app/core/test_treeshap.py).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LeafShap:
    """What an applicant alone in a leaf gets from that tree, for every leaf: a tree splits on
    a few features only, so each tree keeps the columns it touches (`columns[tree]`, the
    baseline's last; padding points past the output) and their values per leaf
    (`values[tree, leaf]`)."""

    columns: np.ndarray  # (trees, slots) output column of each slot
    values: np.ndarray  # (trees, leaves per tree, slots)
    n_columns: int  # model features, then the baseline
    bias: float

    def explain(self, leaves: np.ndarray) -> np.ndarray:
        """SHAP rows for applicants from their leaf in each tree ((n, trees) ints, CatBoost's
        calc_leaf_indexes): CatBoost's layout, features then baseline."""
        n, trees = leaves.shape[0], self.columns.shape[0]
        width = self.n_columns + 1  # and a scratch column for the padding
        picked = self.values[np.arange(trees), leaves]  # (n, trees, slots)
        bins = self.columns[None, :, :] + (np.arange(n) * width)[:, None, None]
        # bincount adds in input order, tree by tree, as CatBoost adds each tree's share.
        out: np.ndarray = np.bincount(bins.ravel(), weights=picked.ravel(), minlength=n * width)
        out = out.reshape(n, width)
        out[:, -2] += self.bias
        return out[:, :-1]


def leaf_shap(model: Any) -> LeafShap:
    """The table for a CatBoost model with symmetric trees and leaf weights."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        model.save_model(str(path), format="json")
        dump = json.loads(path.read_text())
    return table_from_dump(dump)


def table_from_dump(dump: dict[str, Any]) -> LeafShap:
    info = dump["features_info"]
    flat_of_float = {f["feature_index"]: f["flat_feature_index"] for f in info.get("float_features", [])}
    flat_of_cat = {f["feature_index"]: f["flat_feature_index"] for f in info.get("categorical_features", [])}
    n_features = 1 + max([*flat_of_float.values(), *flat_of_cat.values()])
    if info.get("ctrs"):
        raise ValueError("models with CTR features are not supported")
    trees = dump["oblivious_trees"]
    depth = {len(t["splits"]) for t in trees}
    if len(depth) != 1:
        raise ValueError("trees of different depths are not supported")
    (d,) = depth
    features = np.array(
        [[_flat(s, flat_of_float, flat_of_cat) for s in t["splits"]] for t in trees], dtype=np.int64
    ).reshape(len(trees), d)
    values = np.array([t["leaf_values"] for t in trees], dtype=np.float64)
    weights = np.array([t["leaf_weights"] for t in trees], dtype=np.float64)
    if weights.shape != values.shape:
        raise ValueError("the model has no leaf weights")
    table = np.zeros((len(trees), 1 << d, n_features + 1))
    # CatBoost's rule (NeedDatasetForLeavesWeights): the explained rows join the cover when an
    # empty leaf holds a value.
    counts_applicant = bool(np.any((weights == 0) & (np.abs(values) >= 1e-9)))
    steps = features[:, ::-1].tolist()  # CatBoost's walk: last split first
    for pattern in {_pattern(row) for row in steps}:
        group = np.array([i for i, row in enumerate(steps) if _pattern(row) == pattern])
        table[group] = _group_table(
            features[group], values[group], weights[group], pattern, n_features, counts_applicant
        )
    scale, bias = dump.get("scale_and_bias", [1.0, [0.0]])
    if scale != 1:
        raise ValueError("scaled models are not supported")
    return _sparse(features, table, float(np.sum(bias)))


def _sparse(features: np.ndarray, table: np.ndarray, bias: float) -> LeafShap:
    """Each tree's table cut to the columns it splits on (in order of first split) and the
    baseline: the rest are zeros."""
    n_trees, depth = features.shape
    n_columns = table.shape[2]
    columns = np.full((n_trees, depth + 1), n_columns, dtype=np.int64)  # padding: the scratch column
    for t, row in enumerate(features.tolist()):
        used = list(dict.fromkeys(row))
        columns[t, : len(used)] = used
        columns[t, depth] = n_columns - 1
    padded = np.concatenate([table, np.zeros((n_trees, table.shape[1], 1))], axis=2)
    values = np.take_along_axis(padded, columns[:, None, :], axis=2)
    return LeafShap(columns, values, n_columns, bias)


def _flat(split: dict[str, Any], floats: dict[int, int], cats: dict[int, int]) -> int:
    if split["split_type"] == "FloatFeature":
        return floats[split["float_feature_index"]]
    if split["split_type"] == "OneHotFeature":
        return cats[split["cat_feature_index"]]
    raise ValueError(f"unsupported split {split['split_type']}")


def _pattern(row: list[int]) -> tuple[int, ...]:
    """Which earlier level each level repeats the feature of (its own index if none): trees
    with the same pattern take the same path through CatBoost's recursion."""
    return tuple(row.index(f) for f in row)


class _Element:
    """One element of TreeSHAP's feature path, for a whole group of (tree, leaf) pairs."""

    __slots__ = ("feature", "one", "weight", "zero")

    def __init__(self, feature: int, zero: np.ndarray, one: np.ndarray, weight: np.ndarray) -> None:
        self.feature, self.zero, self.one, self.weight = feature, zero, one, weight


def _extend(path: list[_Element], zero: np.ndarray, one: np.ndarray, feature: int) -> list[_Element]:
    n = len(path)
    new = [_Element(e.feature, e.zero, e.one, e.weight.copy()) for e in path]
    new.append(_Element(feature, zero, one, np.full_like(zero, 1.0 if n == 0 else 0.0)))
    for i in range(n - 1, -1, -1):
        new[i + 1].weight = new[i + 1].weight + one * new[i].weight * (i + 1) / (n + 1)
        new[i].weight = zero * new[i].weight * (n - i) / (n + 1)
    return new


def _unwind(path: list[_Element], erase: int) -> list[_Element]:
    n = len(path)
    new = [_Element(e.feature, e.zero, e.one, e.weight.copy()) for e in path[:-1]]
    for i in range(erase, n - 1):
        new[i].feature, new[i].zero, new[i].one = path[i + 1].feature, path[i + 1].zero, path[i + 1].one
    one, zero = path[erase].one, path[erase].zero
    has_one = one != 0
    safe_one = np.where(has_one, one, 1.0)
    safe_zero = np.where(zero != 0, zero, 1.0)
    diff = path[n - 1].weight
    for i in range(n - 2, -1, -1):
        old = new[i].weight
        by_one = diff * n / (safe_one * (i + 1))
        diff = np.where(has_one, old - by_one * zero * (n - i - 1) / n, diff)
        new[i].weight = np.where(has_one, by_one, old * n / (safe_zero * (n - i - 1)))
    return new


def _group_table(
    features: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    pattern: tuple[int, ...],
    n_features: int,
    counts_applicant: bool,
) -> np.ndarray:
    """The leaf table of trees that share a repeat pattern, every (tree, leaf) pair at once."""
    n_trees, depth = features.shape
    walk = _Walk(features, values, weights, pattern, n_features)
    if counts_applicant:
        walk.count_applicant()
    ones = np.ones(len(walk.doc))
    walk.recurse(0, np.zeros(len(walk.doc), dtype=np.int64), [], _Element(-1, ones, ones, ones), ones.astype(bool))
    walk.out[:, -1] = np.sum(walk.leaf_values * walk.cover, axis=1) / walk.subtree[0][:, 0]
    return walk.out.reshape(n_trees, 1 << depth, n_features + 1)


class _Walk:
    """CatBoost's TreeSHAP recursion (CalcObliviousInternalShapValuesForLeafRecursive) for many
    (tree, leaf) pairs at once: each array holds one value per pair, and a pair whose branch
    CatBoost skips (an empty node) is masked out instead."""

    def __init__(
        self, features: np.ndarray, values: np.ndarray, weights: np.ndarray, pattern: tuple[int, ...], n_features: int
    ) -> None:
        n_trees, self.depth = features.shape
        leaves = 1 << self.depth
        self.doc = np.tile(np.arange(leaves), n_trees)  # the leaf each pair's applicant falls in
        self.tree = np.repeat(np.arange(n_trees), leaves)
        self.rows = np.arange(len(self.doc))
        self.features, self.pattern = features, pattern
        self.cover = weights[self.tree].copy()
        self._cut()
        self.leaf_values = values[self.tree]
        self.out = np.zeros((len(self.doc), n_features + 1))

    def count_applicant(self) -> None:
        """The applicant, alone in the call, joins its own leaf's cover."""
        self.cover[self.rows, self.doc] += 1.0
        self._cut()

    def _cut(self) -> None:
        # CatBoost walks a symmetric tree from its last split to its first: the node after k
        # steps is the leaf index's top k bits.
        self.subtree = [self.cover.reshape(len(self.doc), 1 << k, -1).sum(axis=2) for k in range(self.depth + 1)]

    def recurse(self, step: int, node: np.ndarray, path: list[_Element], entering: _Element, mask: np.ndarray) -> None:
        path = _extend(path, entering.zero, entering.one, entering.feature)
        if step == self.depth:
            self._add_leaf(node, path, mask)
            return
        key = self.pattern[step]
        zero, one = np.ones(len(self.doc)), np.ones(len(self.doc))
        same = next((i for i, e in enumerate(path) if e.feature == key), None)
        if same is not None:
            zero, one = path[same].zero, path[same].one
            path = _unwind(path, same)
        go = node * 2 + ((self.doc >> (self.depth - 1 - step)) & 1)
        parent = self.subtree[step][self.rows, node]
        safe_parent = np.where(parent != 0, parent, 1.0)
        for child, child_one in ((go, one), (go ^ 1, np.zeros(len(self.doc)))):
            w = self.subtree[step + 1][self.rows, child]
            with np.errstate(divide="ignore", invalid="ignore"):
                entering = _Element(key, zero * w / safe_parent, child_one, w)
                self.recurse(step + 1, child, path, entering, mask & (w != 0))

    def _add_leaf(self, node: np.ndarray, path: list[_Element], mask: np.ndarray) -> None:
        value = self.leaf_values[self.rows, node]
        for i in range(1, len(path)):
            total = np.sum([e.weight for e in _unwind(path, i)], axis=0)
            with np.errstate(invalid="ignore"):
                amount = np.where(mask, total * (path[i].one - path[i].zero) * value, 0.0)
            flat = self.features[self.tree, self.depth - 1 - path[i].feature]
            np.add.at(self.out, (self.rows, flat), amount)
