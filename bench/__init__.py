"""The benchmark of routeledger (`make bench`): ingest and build against baselines of the same run.

`bench.run` generates the calls, times every step in its own fresh subprocess
(`bench.measure`), checks the baselines against `marts.route_weekly` (`bench.check`)
and writes `bench/results.md` (`bench.report`); `bench.baselines` holds what the
steps are compared with: DuckDB's bare load, one hand-written query, plain pandas.
"""
