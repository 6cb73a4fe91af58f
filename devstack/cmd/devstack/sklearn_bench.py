"""Times pandas and scikit-learn on a CSV, for `devstack bench`.

Usage: sklearn_bench.py CSV. Prints one JSON object: read_csv seconds
(wall and CPU, all threads),
the fit of every row (StandardScaler + LogisticRegression(C=1), defaults;
wall and CPU),
its iterations and sum-form objective, and the Python way of a training
run: read_csv, stratified 80/20 split, fit, predict_proba on the test rows.
Imports are not timed.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info


def fit(x, y):
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0).fit(scaler.transform(x), y)
    return scaler, model


def main(path):
    out = {}

    t, c = time.perf_counter(), time.process_time()
    df = pd.read_csv(path)
    out["read_csv_seconds"] = time.perf_counter() - t
    out["read_csv_cpu_seconds"] = time.process_time() - c

    x = df.iloc[:, :-1].to_numpy(dtype=np.float64)
    y = df.iloc[:, -1].to_numpy()
    t, c = time.perf_counter(), time.process_time()
    scaler, model = fit(x, y)
    out["fit_seconds"] = time.perf_counter() - t
    out["fit_cpu_seconds"] = time.process_time() - c
    out["iterations"] = int(model.n_iter_[0])
    p = model.predict_proba(scaler.transform(x))
    idx = np.searchsorted(model.classes_, y)
    out["objective"] = float(-np.log(p[np.arange(len(y)), idx]).sum() + 0.5 * (model.coef_ ** 2).sum())
    del df, x, y, p

    t = time.perf_counter()
    df = pd.read_csv(path)
    x = df.iloc[:, :-1].to_numpy(dtype=np.float64)
    y = df.iloc[:, -1].to_numpy()
    x_train, x_test, y_train, _ = train_test_split(x, y, test_size=0.2, stratify=y, random_state=42)
    scaler, model = fit(x_train, y_train)
    model.predict_proba(scaler.transform(x_test))
    out["pipeline_seconds"] = time.perf_counter() - t

    out["blas"] = [
        "%s %s, %s threads" % (i.get("internal_api"), i.get("architecture", ""), i.get("num_threads"))
        for i in threadpool_info()
    ]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
