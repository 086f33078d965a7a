"""The same models on Spark: the raw tables as a Parquet lake, every model transpiled, the marts published.

- `transpile.py`: a model's SQL from DuckDB's dialect to Spark SQL with sqlglot (no Spark needed; the
  model runner checks every model with it at build time).
- `lake.py`: `routeledger lake export`, the warehouse's raw tables as Parquet (calls by day).
- `build.py`: `routeledger build --engine spark`, every model on a SparkSession over the lake, the marts
  written as Parquet and published as a DuckDB snapshot (needs the `spark` extra and Java 17+).
"""
