#!/usr/bin/env python3
"""Produces Kafka messages read as JSON lines on stdin, with confluent-kafka (a client apart from the code under
test).

    kafka_produce.py BOOTSTRAP < messages.jsonl

Each line: {"topic": "...", "key": "...", "value": "text" or {...}, "headers": {"name": "value"}, "partition": n}
(key, headers and partition optional; an object value is sent as compact JSON). Messages are produced in order
(idempotent producer, acks=all), then flushed; one line per message, in input order: `PRODUCED topic partition
offset`. Exits non-zero when any delivery fails.
"""
import json
import sys

from confluent_kafka import Producer


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kafka_produce.py BOOTSTRAP < messages.jsonl")
    producer = Producer({
        "bootstrap.servers": sys.argv[1],
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    })
    results = []
    failures = []

    def delivered(index):
        def callback(error, message):
            if error is not None:
                failures.append(f"message {index}: {error}")
            else:
                results[index] = (message.topic(), message.partition(), message.offset())
        return callback

    for line in sys.stdin:
        if not line.strip():
            continue
        entry = json.loads(line)
        value = entry.get("value")
        if value is not None and not isinstance(value, str):
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        headers = [(name, None if text is None else text.encode()) for name, text in (entry.get("headers") or {}).items()]
        arguments = {"key": entry.get("key"), "value": value, "headers": headers, "on_delivery": delivered(len(results))}
        if entry.get("partition") is not None:
            arguments["partition"] = int(entry["partition"])
        results.append(None)
        while True:
            try:
                producer.produce(entry["topic"], **arguments)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining:
        failures.append(f"{remaining} messages not delivered within 60 s")
    for result in results:
        if result is not None:
            print(f"PRODUCED {result[0]} {result[1]} {result[2]}")
    if failures or any(result is None for result in results):
        print("\n".join(failures) or "some messages were not delivered", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
