"""Reads a TensorBoard run folder back with the tensorboard package, for flipflow's Java tests.

usage: read_events.py RUN_DIR

Prints one JSON object (NaN and infinities as the bare words Python's json writes):
  files:       per event file (name order), every record read strictly with tensorboard's own
               TFRecord reader (length and data CRCs checked) and parsed as tensorboard.Event:
               {wall_time, step, what, file_version | session_status | values[{tag, simple_value}],
               unknown_fields}; unknown_fields counts fields of numbers the real Event, Summary and
               Summary.Value do not have, at any depth
  errors:      what the strict reading failed on (a CRC mismatch, a truncated record, a parse error)
  accumulator: what TensorBoard's EventAccumulator makes of the folder (restart purging on):
               {file_version, scalars: {tag: [[wall_time, step, value], ...]}}
  plugin:      the same through plugin_event_accumulator, the path the scalars dashboard reads
               (simple_value migrated to a scalar tensor): {tag: [[wall_time, step, value], ...]}
"""

import json
import os
import sys

from google.protobuf import unknown_fields
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.util import tensor_util


def count_unknown(message):
    n = len(unknown_fields.UnknownFieldSet(message))
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.is_repeated:  # protobuf 7 has no FieldDescriptor.label
            n += sum(count_unknown(v) for v in value)
        else:
            n += count_unknown(value)
    return n


def describe(event):
    out = {"wall_time": event.wall_time, "step": event.step, "what": event.WhichOneof("what")}
    if out["what"] == "file_version":
        out["file_version"] = event.file_version
    elif out["what"] == "session_log":
        out["session_status"] = event_pb2.SessionLog.SessionStatus.Name(event.session_log.status)
    elif out["what"] == "summary":
        out["values"] = [
            {"tag": v.tag, "simple_value": v.simple_value if v.HasField("simple_value") else None}
            for v in event.summary.value
        ]
    out["unknown_fields"] = count_unknown(event)
    return out


def read_strictly(run_dir, errors_out):
    files = []
    for name in sorted(os.listdir(run_dir)):
        if "tfevents" not in name:
            continue
        path = os.path.join(run_dir, name)
        records = []
        reader = pywrap_tensorflow.PyRecordReader_New(path)
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                break
            except errors.DataLossError as e:
                errors_out.append(f"{name}: record {len(records)}: {e.message}")
                break
            try:
                records.append(describe(event_pb2.Event.FromString(reader.record())))
            except Exception as e:  # a framing that holds but a payload that is no Event
                errors_out.append(f"{name}: record {len(records)}: {type(e).__name__}: {e}")
                break
        files.append({"name": name, "records": records})
    return files


def main(run_dir):
    errs = []
    files = read_strictly(run_dir, errs)

    acc = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.SCALARS: 0}, purge_orphaned_data=True
    )
    acc.Reload()
    scalars = {
        tag: [[e.wall_time, e.step, e.value] for e in acc.Scalars(tag)]
        for tag in acc.Tags()[event_accumulator.SCALARS]
    }

    plugin_acc = plugin_event_accumulator.EventAccumulator(
        run_dir, size_guidance={plugin_event_accumulator.TENSORS: 0}, purge_orphaned_data=True
    )
    plugin_acc.Reload()
    plugin = {
        tag: [
            [e.wall_time, e.step, float(tensor_util.make_ndarray(e.tensor_proto).item())]
            for e in plugin_acc.Tensors(tag)
        ]
        for tag in plugin_acc.Tags()[plugin_event_accumulator.TENSORS]
    }

    json.dump(
        {
            "files": files,
            "errors": errs,
            "accumulator": {"file_version": acc.file_version, "scalars": scalars},
            "plugin": plugin,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
