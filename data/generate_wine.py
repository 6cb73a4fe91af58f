#!/usr/bin/python3
"""Write data/wine.csv, the dataset of the README's wine example.

Source: the UCI Machine Learning Repository's Wine data set (S. Aeberhard
and M. Forina, 1991; https://archive.ics.uci.edu/dataset/109/wine,
doi:10.24432/C5PC7J; licensed CC BY 4.0 by UCI): 178 wines from three
cultivars of one region of Italy, 13 measurements each. The values are the
published ones, as scikit-learn ships them (sklearn.datasets.load_wine reads
the same file): nothing is computed or rounded here. The class is UCI's
cultivar number, 1 to 3, in the last column, where the trainer looks for the
label by default.

Run with Debian's python3 and python3-sklearn (offline):
    /usr/bin/python3 data/generate_wine.py > data/wine.csv
The tests read data/wine.csv and never need Python.
"""
import csv
import importlib.resources
import sys

COLUMNS = [
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
    "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
    "color_intensity", "hue", "od280_od315", "proline", "class",
]


def main():
    src = importlib.resources.files("sklearn.datasets") / "data" / "wine_data.csv"
    with src.open() as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    if int(header[0]) != len(rows) or int(header[1]) != len(COLUMNS) - 1:
        sys.exit(f"{src}: header {header} does not match its {len(rows)} rows")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(COLUMNS)
    for row in rows:
        # sklearn numbers the cultivars from 0, UCI from 1.
        out.writerow(row[:-1] + [str(int(row[-1]) + 1)])


if __name__ == "__main__":
    main()
