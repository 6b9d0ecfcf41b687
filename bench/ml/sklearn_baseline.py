"""scikit-learn reference for bench/ml/ml.bench.ts, on exactly the data the TS bench wrote.

Usage: /usr/bin/python3 bench/ml/sklearn_baseline.py <data-dir>
Reads <data-dir>/manifest.json and the raw little-endian float64 files it names; prints one JSON
object with timings (seconds) and quality numbers on stdout. Single-threaded where sklearn allows
(RandomForestRegressor/IsolationForest n_jobs=1). KMeans is timed twice: with its default OpenMP
threads, and limited to one thread (threadpoolctl), as our k-means runs on one thread.
The `npmRf` entry of the manifest is the configuration the bench also gives ml-random-forest
(a bounded training set, held-out rows of the largest split); it is fitted and scored here too.
"""
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
import sklearn
from sklearn.cluster import KMeans
from sklearn.ensemble import IsolationForest, RandomForestRegressor
from sklearn.metrics import r2_score, roc_auc_score


def load(d, name, shape):
    return np.fromfile(os.path.join(d, name), dtype='<f8').reshape(shape)


def main():
    d = sys.argv[1]
    m = json.load(open(os.path.join(d, 'manifest.json')))
    p = m['nCols']
    X = load(d, 'friedman_x.bin', (-1, p))
    y = load(d, 'friedman_y.bin', (-1,))
    out = {'sklearn': sklearn.__version__, 'rf': {}}
    for n in m['rfSizes']:
        n_train = int(n * 0.8)
        Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:n], y[n_train:n]
        t = time.perf_counter()
        rf = RandomForestRegressor(n_estimators=100, max_depth=10, n_jobs=1, random_state=0).fit(Xtr, ytr)
        fit_s = time.perf_counter() - t
        out['rf'][str(n)] = {'fitS': fit_s, 'r2': float(r2_score(yte, rf.predict(Xte)))}
        if n == max(m['rfSizes']):
            row = Xte[:1]
            rf.predict(row)
            reps = 200
            t = time.perf_counter()
            for _ in range(reps):
                rf.predict(row)
            out['predictRowUs'] = (time.perf_counter() - t) / reps * 1e6

    c = m['npmRf']
    Xtr, ytr = X[:c['trainRows']], y[:c['trainRows']]
    Xte, yte = X[c['testFrom']:c['testTo']], y[c['testFrom']:c['testTo']]
    t = time.perf_counter()
    rf = RandomForestRegressor(n_estimators=c['trees'], max_depth=c['maxDepth'], n_jobs=1, random_state=0).fit(Xtr, ytr)
    fit_s = time.perf_counter() - t
    out['rfNpm'] = {'fitS': fit_s, 'r2': float(r2_score(yte, rf.predict(Xte)))}
    rf.predict(Xte[:1])
    reps = 200
    t = time.perf_counter()
    for i in range(reps):
        rf.predict(Xte[i:i + 1])
    out['rfNpm']['predictRowUs'] = (time.perf_counter() - t) / reps * 1e6

    Z = load(d, 'kmeans_x.bin', (-1, p))
    t = time.perf_counter()
    km = KMeans(n_clusters=m['k'], n_init=1, random_state=0).fit(Z)
    out['kmeans'] = {'fitS': time.perf_counter() - t, 'inertia': float(km.inertia_), 'iterations': int(km.n_iter_)}
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        KMeans(n_clusters=m['k'], n_init=1, random_state=0).fit(Z)
        out['kmeans']['fit1ThreadS'] = time.perf_counter() - t

    A = load(d, 'iforest_x.bin', (-1, p))
    truth = load(d, 'iforest_truth.bin', (-1,))
    t = time.perf_counter()
    iso = IsolationForest(n_estimators=100, max_samples=256, contamination=m['contamination'], random_state=0, n_jobs=1).fit(A)
    fit_s = time.perf_counter() - t
    out['iforest'] = {'fitS': fit_s, 'auc': float(roc_auc_score(truth, -iso.score_samples(A)))}
    print(json.dumps(out))


main()
