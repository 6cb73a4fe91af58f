#!/usr/bin/python3
"""Generate the tabular parity goldens with scikit-learn.

Run from this directory with Debian's Python (python3-sklearn, python3-pandas):

    /usr/bin/python3 generate.py

It writes, for every case, <case>_train.csv, <case>_test.csv and
<case>.golden.json: the parameters, the transform scikit-learn fitted
(imputed values, categories, infrequent groups, indicators) and the
probabilities of the Pipeline below on the test rows. The Go tests read the
committed files and never need Python.

The Pipeline is the contract's definition of correct (design.md §9, issue 23):

    numeric:     SimpleImputer(strategy) -> StandardScaler()
    indicators:  MissingIndicator(features="missing-only", error_on_new=False),
                 unscaled, when add_indicator
    categorical: SimpleImputer(strategy="constant") ->
                 OneHotEncoder(handle_unknown="ignore", max_categories, min_frequency)
    model:       LogisticRegression(C, class_weight, solver="newton-cg",
                 tol=1e-8), converged (the same objective as lbfgs),
                 fitted with sample_weight from the weight column.

Reading follows pandas' defaults with its NA strings given explicitly (the
pandas 2 list, which adds "None" to pandas 1.5's), so the goldens do not
depend on the pandas version. Categorical columns are read as strings
(dtype=str): a forced categorical column of numeric codes then has the
categories "4", "6", "8" as they are written, sorted as strings, and its
missing values become SimpleImputer's "missing_value" category.
Error_on_new=False lets a test row be missing where training never was:
it is imputed and gets no indicator, as the artifact serves it.
"""

import json
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NA_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
    "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
    "nan", "null",
]
NA_TOKENS = ["", "NA", "N/A", "null", "NaN", "None", "#N/A", "nan"]


def na(rng, n, share):
    return rng.random_sample(n) < share


def num_text(values, missing, rng, digits=4):
    out = []
    for v, m in zip(values, missing):
        if m:
            out.append(NA_TOKENS[rng.randint(len(NA_TOKENS))])
        else:
            out.append(("%." + str(digits) + "f") % v)
    return out


def cat_text(values, missing, rng):
    return [NA_TOKENS[rng.randint(len(NA_TOKENS))] if m else str(v) for v, m in zip(values, missing)]


def labels_from(rng, scores, classes):
    """Sample a class per row from softmax(scores)."""
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random_sample(len(p))
    idx = (p.cumsum(axis=1) < u[:, None]).sum(axis=1)
    idx = np.minimum(idx, len(classes) - 1)
    return [classes[i] for i in idx]


def effect(rng, levels, k):
    return {lv: rng.normal(0, 1.2, k) for lv in levels}


def exact(rng, counts, n_train, n, pick):
    """A column whose first n_train values hold exactly counts (value ->
    count, shuffled) and the rest drawn by pick."""
    vals = [v for v, c in counts for _ in range(c)]
    assert len(vals) == n_train, (len(vals), n_train)
    rng.shuffle(vals)
    return vals + [pick() for _ in range(n - n_train)]


def make_table(rng, n, n_train, spec, k, classes, label_na=0.0):
    """spec: list of (name, kind, args). Returns a DataFrame of strings."""
    cols = {}
    scores = np.zeros((n, k))
    for name, kind, args in spec:
        if kind == "id":
            cols[name] = [str(1000 + i) for i in range(n)]
        elif kind == "num":
            loc, sd, share = args
            v = rng.normal(loc, sd, n)
            m = na(rng, n, share)
            scores += np.outer((v - loc) / sd, rng.normal(0, 1.0, k))
            cols[name] = num_text(v, m, rng)
        elif kind == "int":  # small integer codes (forced categorical)
            levels, share = args
            v = rng.choice(levels, n)
            m = na(rng, n, share)
            eff = effect(rng, levels, k)
            scores += np.array([eff[x] for x in v])
            cols[name] = [NA_TOKENS[rng.randint(len(NA_TOKENS))] if mm else str(x) for x, mm in zip(v, m)]
        elif kind == "cat":
            levels, probs, share = args
            v = rng.choice(levels, n, p=probs)
            m = na(rng, n, share)
            eff = effect(rng, levels, k)
            scores += np.array([eff[x] for x in v])
            cols[name] = cat_text(v, m, rng)
        elif kind == "weight":
            cols[name] = ["%.3f" % w for w in rng.uniform(0.2, 3.0, n)]
        elif kind == "empty":
            cols[name] = [NA_TOKENS[rng.randint(len(NA_TOKENS))] for _ in range(n)]
        elif kind == "counts":  # exact training counts: ties on purpose
            counts = args
            levels = [v for v, _ in counts]
            vals = exact(rng, counts, n_train, n, lambda: levels[rng.randint(len(levels))])
            eff = effect(rng, levels, k)
            scores += np.array([eff[x] for x in vals])
            cols[name] = [str(x) for x in vals]
        else:
            raise ValueError(kind)
    y = labels_from(rng, scores, classes)
    if label_na:
        y = ["" if rng.random_sample() < label_na else c for c in y]
    cols["label"] = y
    return pd.DataFrame(cols)


def zipf(n, s=1.3):
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def uniform(n):
    return np.ones(n) / n


CASES = [
    dict(
        name="binary_basic",
        classes=["no", "yes"],
        spec=[
            ("id", "id", None),
            ("age", "num", (40, 12, 0.1)),
            ("income", "num", (50000, 20000, 0.08)),
            ("color", "cat", (["red", "green", "blue", "black"], uniform(4), 0.06)),
            ("city", "cat", (["Paris", "Lyon", "Nice", "Lille", "Metz", "Brest"], zipf(6), 0.05)),
        ],
        test_extra={"color": ["purple", "red"], "city": ["Tokyo"]},
        params=dict(drop=["id"], c=1.0),
    ),
    dict(
        name="multiclass_median_indicator",
        classes=["setosa", "versicolor", "virginica"],
        spec=[
            ("empty", "empty", None),
            ("x1", "num", (0, 1, 0.15)),
            ("x2", "num", (5, 2, 0.0)),
            ("x3", "num", (-3, 0.5, 0.2)),
            ("kind", "cat", (["a", "b", "c"], uniform(3), 0.1)),
            ("unused", "num", (0, 1, 0.0)),
        ],
        label_na=0.04,
        params=dict(features=["x3", "kind", "x1", "x2", "empty"], impute="median", add_indicator=True, c=0.5),
    ),
    dict(
        name="forced_categorical_most_frequent",
        classes=["c1", "c2", "c3", "c4"],
        spec=[
            ("cylinders", "int", ([4, 6, 8, 10, 12], 0.05)),
            ("year", "int", ([2019, 2020, 2021], 0.0)),
            # 7 and 3 tie for most frequent: the smaller wins.
            ("mode", "counts", [("7", 45), ("3", 45), ("1", 35), ("2", 35), ("4", 35), ("5", 35), ("6", 35), ("NA", 35)]),
            ("power", "num", (100, 30, 0.1)),
            ("brand", "cat", (["vw", "bmw", "fiat", "kia"], uniform(4), 0.0)),
        ],
        test_extra={"cylinders": ["5", "3"], "year": ["2022"]},
        params=dict(categorical=["cylinders", "year"], numeric=["power"], impute="most_frequent", add_indicator=True, c=2.0),
    ),
    dict(
        name="sample_weight_balanced",
        classes=["high", "low", "mid"],
        class_bias=[1.5, 0.0, -1.5],
        spec=[
            ("w", "weight", None),
            ("u", "num", (1, 1, 0.05)),
            ("v", "num", (-1, 3, 0.05)),
            ("grade", "cat", (["A", "B", "C", "D"], zipf(4), 0.05)),
        ],
        params=dict(weight="w", class_weight="balanced", c=1.0),
    ),
    dict(
        name="class_weight_dict_binary",
        classes=["bad", "good"],
        class_bias=[-1.0, 1.0],
        spec=[
            ("sw", "weight", None),
            ("score", "num", (600, 80, 0.1)),
            ("debt", "num", (0.3, 0.1, 0.0)),
            ("housing", "cat", (["own", "rent", "free"], uniform(3), 0.08)),
        ],
        test_extra={"housing": ["boat"]},
        params=dict(weight="sw", class_weight={"bad": 3.0}, impute="median", c=0.3),
    ),
    dict(
        name="class_weight_balanced_binary",
        classes=["n", "p"],
        class_bias=[2.0, -2.0],
        spec=[
            ("a", "num", (0, 1, 0.1)),
            ("b", "cat", (["x", "y", "z"], uniform(3), 0.1)),
        ],
        params=dict(class_weight="balanced", add_indicator=True, c=1.0),
    ),
    dict(
        name="rare_max_categories",
        classes=["k1", "k2", "k3"],
        spec=[
            ("shop", "cat", (["s%02d" % i for i in range(30)], zipf(30), 0.03)),
            # Equal counts at the max_categories boundary: the stable
            # sort keeps t7 and groups t4, t5, t6.
            ("tied", "counts", [("t%d" % i, c) for i, c in enumerate([50, 50, 40, 40, 30, 30, 30, 30])]),
            ("q", "num", (10, 4, 0.05)),
        ],
        test_extra={"shop": ["s99"]},
        params=dict(max_categories=6, c=1.0),
    ),
    dict(
        name="rare_min_frequency_share",
        classes=["p", "q", "r", "s", "t"],
        spec=[
            ("region", "cat", (["r%d" % i for i in range(15)], zipf(15, 1.1), 0.05)),
            ("q", "num", (0, 1, 0.05)),
            ("z", "num", (2, 1, 0.05)),
        ],
        params=dict(min_frequency=0.05, c=1.0),
    ),
    dict(
        name="rare_min_frequency_count_and_max",
        classes=["neg", "pos"],
        spec=[
            ("tag", "cat", (["g%d" % i for i in range(12)], zipf(12, 1.0), 0.04)),
            ("other", "cat", (["o%d" % i for i in range(10)], zipf(10, 0.5), 0.0)),
            ("m", "num", (3, 1, 0.0)),
        ],
        params=dict(min_frequency=10, max_categories=4, c=1.0),
    ),
    dict(
        name="all_categorical",
        classes=["x", "y", "z"],
        spec=[
            ("f1", "cat", (["u", "v", "w"], uniform(3), 0.1)),
            ("f2", "cat", (["1", "2", "3", "4"], uniform(4), 0.05)),
            ("f3", "cat", (["p", "q"], uniform(2), 0.0)),
        ],
        test_extra={"f2": ["9"]},
        params=dict(c=1.0),
    ),
    dict(
        name="many_classes",
        classes=["class%02d" % i for i in range(10)],
        spec=[
            ("n1", "num", (0, 1, 0.05)),
            ("n2", "num", (100, 10, 0.05)),
            ("n3", "num", (-5, 5, 0.0)),
            ("c1", "cat", (["a", "b", "c", "d", "e"], uniform(5), 0.05)),
            ("c2", "cat", (["m", "n", "o"], uniform(3), 0.0)),
        ],
        params=dict(c=10.0, impute="most_frequent"),
        rows=600,
    ),
]


def read(path, label, categorical):
    dtype = {c: str for c in categorical}
    dtype[label] = str
    return pd.read_csv(path, na_values=NA_VALUES, keep_default_na=False, dtype=dtype)


def column_types(df, label, params):
    cols = [c for c in df.columns if c != label]
    if params.get("features"):
        cols = list(params["features"])
    cols = [c for c in cols if c not in params.get("drop", []) and c != params.get("weight")]
    cats, nums = [], []
    for c in cols:
        if c in params.get("categorical", []):
            cats.append(c)
        elif c in params.get("numeric", []):
            nums.append(c)
        elif pd.api.types.is_numeric_dtype(df[c]):
            nums.append(c)
        else:
            cats.append(c)
    return cols, nums, cats


def gradient(model, X, y, sw, lr_args):
    """The infinity norm of the sum-form gradient of the objective
    sum_i s_i loss_i + ||W||^2 / (2C) at the fitted model: the certificate
    that the golden is the optimum."""
    n = len(y)
    s = np.ones(n) if sw is None else np.array(sw, dtype=float)
    classes = list(model.classes_)
    yi = np.array([classes.index(v) for v in y])
    cw = lr_args["class_weight"]
    if cw == "balanced":
        counts = np.bincount(yi, minlength=len(classes))
        s = s * (n / (len(classes) * counts))[yi]
    elif isinstance(cw, dict):
        s = s * np.array([cw.get(c, 1.0) for c in classes])[yi]
    W, b = model.coef_, model.intercept_
    if len(classes) == 2:
        p = 1 / (1 + np.exp(-(X @ W[0] + b[0])))
        r = s * (p - (yi == 1))
        g = np.concatenate([X.T @ r + W[0] / lr_args["C"], [r.sum()]])
    else:
        z = X @ W.T + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(n), yi] -= 1
        r = p * s[:, None]
        g = np.concatenate([(r.T @ X + W / lr_args["C"]).ravel(), r.sum(axis=0)])
    return float(np.abs(g).max())


def run_case(case, rng):
    name = case["name"]
    classes = case["classes"]
    k = len(classes)
    n = case.get("rows", 300)
    m = 80
    spec = case["spec"]
    table = make_table(rng, n + m, n, spec, k, classes, case.get("label_na", 0.0))
    if "class_bias" in case:  # resample labels with a class bias for imbalance
        pass
    train, test = table.iloc[:n].copy(), table.iloc[n:].copy()
    for col, extra in case.get("test_extra", {}).items():
        idx = rng.choice(len(test), 6, replace=False)
        test.iloc[idx, test.columns.get_loc(col)] = [extra[i % len(extra)] for i in range(6)]
    if "class_bias" in case:
        # Drop rows to make the classes imbalanced as the bias says.
        keep = []
        for i, y in enumerate(train["label"]):
            b = case["class_bias"][classes.index(y)]
            keep.append(rng.random_sample() < 1 / (1 + np.exp(-b - 1.5)))
        train = train[np.array(keep)]
    train.to_csv(name + "_train.csv", index=False)
    test.to_csv(name + "_test.csv", index=False)

    params = case["params"]
    label = "label"
    raw = read(name + "_train.csv", label, params.get("categorical", []))
    _, nums, cats = column_types(raw, label, params)
    skipped = int(raw[label].isna().sum())
    raw = raw[raw[label].notna()].reset_index(drop=True)
    dropped = [c for c in nums + cats if raw[c].isna().all()]
    nums = [c for c in nums if c not in dropped]
    cats = [c for c in cats if c not in dropped]
    # pandas reads a column of numbers as float or int; categorical columns
    # must be strings for SimpleImputer(strategy="constant").
    for c in cats:
        raw[c] = raw[c].astype(object)
    strategy = params.get("impute", "mean")
    transformers = []
    if nums:
        transformers.append(("num", Pipeline([("impute", SimpleImputer(strategy=strategy)), ("scale", StandardScaler())]), nums))
        if params.get("add_indicator"):
            transformers.append(("ind", MissingIndicator(features="missing-only", error_on_new=False), nums))
    if cats:
        enc = OneHotEncoder(handle_unknown="ignore", max_categories=params.get("max_categories"), min_frequency=params.get("min_frequency"))
        transformers.append(("cat", Pipeline([("impute", SimpleImputer(strategy="constant")), ("onehot", enc)]), cats))
    ct = ColumnTransformer(transformers, sparse_threshold=0)
    lr_args = dict(C=params.get("c", 1.0), class_weight=params.get("class_weight"), max_iter=100000)
    # newton-cg reaches the optimum to the last digits; L-BFGS-B stops on
    # scipy's ftol first (about 1e-5 away in probability).
    pipe = Pipeline([("columns", ct), ("model", LogisticRegression(solver="newton-cg", tol=1e-8, **lr_args))])
    fit_args = {}
    if params.get("weight"):
        fit_args["model__sample_weight"] = raw[params["weight"]].to_numpy(dtype=float)
    X = raw.drop(columns=[label])
    y = raw[label].to_numpy(dtype=object)
    pipe.fit(X, y, **fit_args)

    te = read(name + "_test.csv", label, params.get("categorical", []))
    for c in cats:
        te[c] = te[c].astype(object)
    proba = pipe.predict_proba(te.drop(columns=[label]))

    if pipe.named_steps["model"].n_iter_.max() >= lr_args["max_iter"]:
        sys.exit("%s: newton-cg did not converge" % name)
    # scikit-learn's default solver on the same objective lands close by.
    check = Pipeline([("columns", ct), ("model", LogisticRegression(tol=1e-12, **lr_args))])
    check.fit(X, y, **fit_args)
    agreement = float(np.abs(check.predict_proba(te.drop(columns=[label])) - proba).max())
    model = pipe.named_steps["model"]
    grad = gradient(model, ct.transform(X), y, fit_args.get("model__sample_weight"), lr_args)
    if grad > 1e-6:
        sys.exit("%s: the gradient at the solution is %g" % (name, grad))

    ct = pipe.named_steps["columns"]
    columns = []
    if nums:
        imp = ct.named_transformers_["num"].named_steps["impute"]
        sc = ct.named_transformers_["num"].named_steps["scale"]
        ind = set()
        if params.get("add_indicator"):
            ind = {nums[i] for i in ct.named_transformers_["ind"].features_}
        for i, c in enumerate(nums):
            columns.append(dict(name=c, type="numeric", impute=float(imp.statistics_[i]),
                                mean=float(sc.mean_[i]), scale=float(sc.scale_[i]), indicator=c in ind))
    if cats:
        enc = ct.named_transformers_["cat"].named_steps["onehot"]
        for i, c in enumerate(cats):
            cats_all = [str(v) for v in enc.categories_[i]]
            infreq = enc.infrequent_categories_[i] if enc._infrequent_enabled else None
            infreq = [] if infreq is None else [str(v) for v in infreq]
            columns.append(dict(name=c, type="categorical",
                                categories=[v for v in cats_all if v not in infreq],
                                infrequent=infreq))
    golden = dict(
        generator="generate.py",
        sklearn=sklearn.__version__,
        pandas=pd.__version__,
        train=name + "_train.csv",
        test=name + "_test.csv",
        label=label,
        params=params,
        classes=[str(c) for c in model.classes_],
        rows=len(raw),
        rows_skipped=skipped,
        dropped=dropped,
        columns=columns,
        n_iter=int(model.n_iter_.max()),
        grad_inf_norm=grad,
        lbfgs_max_delta=agreement,
        proba=[[float(v) for v in row] for row in proba],
    )
    with open(name + ".golden.json", "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("%-36s rows %3d skipped %2d classes %2d iter %3d |grad| %.1e lbfgs %.1e" % (
        name, len(raw), skipped, len(model.classes_), golden["n_iter"], grad, agreement))


def main():
    rng = np.random.RandomState(23)
    for case in CASES:
        run_case(case, rng)


if __name__ == "__main__":
    main()
