#!/usr/bin/env bash
# Local and Spark back to back on the first 500 articles of the 2,000-article corpus, twice.
set -e
cd "$(dirname "$0")/../.."
# the first 500 articles of the corpus that measure.py wrote
python -c "import pyarrow.parquet as pq; t = pq.read_table('/tmp/spark-2000/corpus.parquet'); pq.write_table(t.slice(0, 500), '/tmp/spark-2000/corpus-500.parquet')"
S="--set tracking.uri=sqlite:////tmp/spark-scale/mlflow.db --set tracking.artifact_root=/tmp/spark-2000/art --set score.tone.train=null --set score.stance.train=null --set experiment=spark-scale --set engine.master=local[2] --set engine.articles_per_job=500"
for round in 1 2; do
  for engine in local spark; do
    rm -rf /tmp/spark-2000/p500-$engine-$round
    start=$(date +%s.%N)
    nice -n 10 python -m pipeline run configs/default.yaml --input /tmp/spark-2000/corpus-500.parquet --output /tmp/spark-2000/p500-$engine-$round $S --engine $engine > /dev/null 2>&1
    end=$(date +%s.%N)
    echo "$round $engine wall $(echo "$end - $start" | bc) $(grep -E '"seconds"|articles_per_s' /tmp/spark-2000/p500-$engine-$round/summary.json | tr -d '\n ') load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
