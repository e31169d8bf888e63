"""Reads a shard's .parquet with pyarrow, as img2dataset's tools do, and prints it as JSON:
{"schema": {column: type}, "rows": [{column: value}]}. Test helper for ShardParquetTest."""
import json
import sys

import pyarrow.parquet as pq

table = pq.read_table(sys.argv[1])
print(json.dumps({
    "schema": {f.name: str(f.type) for f in table.schema},
    "rows": table.to_pylist(),
}))
