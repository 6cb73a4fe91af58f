#!/usr/bin/python3
"""Time scikit-learn's side of the tabular benchmark (issue 23).

    /usr/bin/python3 bench_pipeline.py TABLE.csv [--label y]

reads TABLE.csv with pandas, fits the parity Pipeline (generate.py's, with
the defaults: mean imputation, no indicators, C=1) and computes
predict_proba on the training rows, and prints the seconds of each step as
JSON. The Go side is BenchmarkPrepareCSV1M plus the fit; MODELFERRY's
figure is `POST /train?wait=true` on the same file.
"""

import argparse
import json
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from generate import NA_VALUES


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = pd.read_csv(args.table, na_values=NA_VALUES, keep_default_na=False)
    t1 = time.perf_counter()
    label = args.label or df.columns[-1]
    y = df[label].astype(str).to_numpy()
    X = df.drop(columns=[label])
    nums = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    cats = [c for c in X.columns if c not in nums]
    ct = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), nums),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), cats),
    ])
    pipe = Pipeline([("columns", ct), ("model", LogisticRegression(max_iter=1000))])
    pipe.fit(X, y)
    t2 = time.perf_counter()
    pipe.predict_proba(X)
    t3 = time.perf_counter()
    print(json.dumps({"rows": len(df), "read_csv": t1 - t0, "fit": t2 - t1,
                      "predict_proba": t3 - t2, "total": t3 - t0,
                      "n_iter": int(pipe.named_steps["model"].n_iter_.max())}))


if __name__ == "__main__":
    main()
