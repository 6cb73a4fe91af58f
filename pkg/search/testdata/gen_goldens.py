#!/usr/bin/python3
"""Writes the parity goldens of pkg/search from scikit-learn.

Run with Debian's python3-sklearn (1.2): /usr/bin/python3 gen_goldens.py
from this directory. It writes <case>.csv (features then an integer label,
no header) and goldens.json: for every case, scikit-learn's StratifiedKFold
test fold of each row, and every (C, fold) score and the chosen C of

  standardize=true:  GridSearchCV(Pipeline([StandardScaler(),
                     LogisticRegression()]), {"C": Cs}, cv=StratifiedKFold(k),
                     scoring)
  standardize=false: LogisticRegressionCV(Cs, cv=StratifiedKFold(k), scoring)

both converged far below the default tolerance: scikit-learn 1.2 calls
scipy's L-BFGS-B with its default ftol (factr 1e7), which stops on a small
relative decrease long before gtol=tol is met, so the generator passes
ftol=0 (and a longer line search) to make gtol the only stopping rule.
"""
import json
import warnings

import numpy as np
import scipy.optimize
import sklearn
import sklearn.linear_model._logistic as _logistic
from sklearn.datasets import load_iris, make_classification
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TOL = 1e-14


def _converging_minimize(minimize):
    def wrapped(*args, **kwargs):
        options = dict(kwargs.pop("options", {}) or {})
        options["ftol"] = 0.0
        options["maxls"] = 100
        return minimize(*args, options=options, **kwargs)
    return wrapped


_logistic.optimize.minimize = _converging_minimize(scipy.optimize.minimize)
MAX_ITER = 1_000_000


def datasets():
    iris = load_iris()
    # Shuffled so that the folds are not the trivial blocks of a sorted file.
    perm = np.random.RandomState(0).permutation(len(iris.target))
    yield "iris", iris.data[perm], iris.target[perm]
    x, y = make_classification(n_samples=300, n_features=5, n_informative=3,
                               n_redundant=1, weights=[0.7, 0.3], flip_y=0.05,
                               random_state=1)
    yield "binary", x * [1, 10, 0.1, 3, 1] + [0, 5, -2, 0, 1], y
    x, y = make_classification(n_samples=600, n_features=6, n_informative=5,
                               n_redundant=0, n_classes=10,
                               n_clusters_per_class=1, class_sep=2.0,
                               random_state=2)
    yield "tenclass", x, y
    # Few rows and accuracy: several C reach the same mean score.
    x, y = make_classification(n_samples=40, n_features=3, n_informative=2,
                               n_redundant=0, class_sep=2.5, random_state=3)
    yield "ties", x, y


CASES = {
    # dataset: [(scoring, folds, Cs)]
    "iris": [("neg_log_loss", 5, np.logspace(-4, 4, 10)),
             ("accuracy", 3, np.logspace(-3, 3, 7))],
    "binary": [("neg_log_loss", 5, np.logspace(-4, 4, 10)),
               ("f1_macro", 4, [0.01, 0.1, 1.0, 10.0])],
    "tenclass": [("f1_macro", 5, np.logspace(-2, 2, 5)),
                 ("neg_log_loss", 3, [0.05, 0.5, 5.0])],
    "ties": [("accuracy", 5, np.logspace(-2, 4, 7))],
}


def grid_search(x, y, cs, k, scoring):
    pipe = Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(tol=TOL, max_iter=MAX_ITER))])
    gs = GridSearchCV(pipe, {"lr__C": list(cs)}, cv=StratifiedKFold(k),
                      scoring=scoring, refit=False)
    gs.fit(x, y)
    r = gs.cv_results_
    scores = [[float(r["split%d_test_score" % f][i]) for f in range(k)]
              for i in range(len(cs))]
    return scores, int(gs.best_index_), []


def lrcv(x, y, cs, k, scoring):
    m = LogisticRegressionCV(Cs=list(cs), cv=StratifiedKFold(k),
                             scoring=scoring, tol=TOL, max_iter=MAX_ITER)
    m.fit(x, y)
    s = next(iter(m.scores_.values()))  # folds × Cs, the same for every class
    scores = [[float(s[f, i]) for f in range(k)] for i in range(len(cs))]
    best = int(np.argmax(s.sum(axis=0)))
    assert m.C_[0] == cs[best]
    # LogisticRegressionCV's warm-started path can stop short on a flat
    # objective (a line search failure near C=1e4). Where a cold fit at
    # the same tolerance scores differently, the cold fit is the converged
    # reference; those points are listed.
    scorer = get_scorer(scoring)
    cold = []
    for f, (tr, te) in enumerate(StratifiedKFold(k).split(x, y)):
        for i, c in enumerate(cs):
            lr = LogisticRegression(C=c, tol=TOL, max_iter=MAX_ITER).fit(x[tr], y[tr])
            v = float(scorer(lr, x[te], y[te]))
            if abs(v - scores[i][f]) > 1e-7:
                scores[i][f] = v
                cold.append([i, f])
    return scores, best, cold


def main():
    warnings.simplefilter("ignore")
    out = {"sklearn": sklearn.__version__, "cases": []}
    for name, x, y in datasets():
        np.savetxt(name + ".csv",
                   np.column_stack([x, y]), delimiter=",", fmt="%.17g")
        for scoring, k, cs in CASES[name]:
            folds = StratifiedKFold(k)._make_test_folds(x, y)
            for standardize in (True, False):
                run = grid_search if standardize else lrcv
                scores, best, cold = run(x, y, cs, k, scoring)
                out["cases"].append({
                    "data": name, "scoring": scoring, "folds": k,
                    "standardize": standardize,
                    "c": [float(c) for c in cs],
                    "test_folds": [int(f) for f in folds],
                    "scores": scores, "best_index": best,
                    "cold_refits": cold,
                })
    # Folds alone, on labels that are not sorted and classes of uneven size.
    rng = np.random.RandomState(4)
    y = rng.choice([3, 1, 7, 5], size=101, p=[0.1, 0.4, 0.3, 0.2])
    out["folds_only"] = []
    for k in (2, 3, 4, 7):
        out["folds_only"].append({"y": [int(v) for v in y], "folds": k,
            "test_folds": [int(f) for f in StratifiedKFold(k)._make_test_folds(None, y)]})
    out["logspace"] = [{"start": a, "stop": b, "n": n,
                        "values": [float(v) for v in np.logspace(a, b, n)]}
                       for a, b, n in [(-4, 4, 10), (-2, 2, 5), (-3, 3, 7), (0, 1, 1), (-1.5, 2.5, 13)]]
    with open("goldens.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
