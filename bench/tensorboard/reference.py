"""What the tensorboard package itself says about the event format, for flipflow's Java tests.

usage: reference.py

Prints one JSON object:
  framed: hex of TFRecord-framed events encoded by tensorboard's own event_pb2 protos and its
          RecordWriter: the golden bytes of EventEncodingTest, which flipflow's encoding of the
          same events must match byte for byte
  fields: {message full name: {field name: [number, type, oneof or null]}} for the messages
          flipflow writes, from tensorboard's compiled descriptors
"""

import io
import json

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


def framed(event):
    buf = io.BytesIO()
    RecordWriter(buf).write(event.SerializeToString())
    return buf.getvalue().hex()


def main():
    events = [
        # the first record of every file
        event_pb2.Event(wall_time=1767225600.5, file_version="brain.Event:2"),
        # one scalar; step 0 and a value of exactly 0.0 (a oneof member: written anyway)
        event_pb2.Event(
            wall_time=1767225601.25,
            step=0,
            summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag="train/loss", simple_value=0.0)]
            ),
        ),
        # several scalars in one event, a large step, a value that float32 rounds
        event_pb2.Event(
            wall_time=1767225602.125,
            step=123456789012,
            summary=summary_pb2.Summary(
                value=[
                    summary_pb2.Summary.Value(tag="train/loss", simple_value=2.302585092994046),
                    summary_pb2.Summary.Value(tag="train/lr", simple_value=3e-4),
                    summary_pb2.Summary.Value(tag="train/logit_scale", simple_value=-1.5),
                ]
            ),
        ),
        # the restart marker of a resumed attempt
        event_pb2.Event(
            wall_time=1767225603.0,
            step=40,
            session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
        ),
    ]
    fields = {}
    for message in (
        event_pb2.Event,
        event_pb2.SessionLog,
        summary_pb2.Summary,
        summary_pb2.Summary.Value,
    ):
        d = message.DESCRIPTOR
        fields[d.full_name] = {
            f.name: [f.number, f.type, f.containing_oneof.name if f.containing_oneof else None]
            for f in d.fields
        }
    status = {v.name: v.number for v in event_pb2.SessionLog.SessionStatus.DESCRIPTOR.values}
    print(json.dumps({"framed": [framed(e) for e in events], "fields": fields, "status": status}))


if __name__ == "__main__":
    main()
