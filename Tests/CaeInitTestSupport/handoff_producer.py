#!/usr/bin/env python3
"""The hand-off test's producer: a separate process that keeps changing one dossier in PostgreSQL and, after each
commit, produces the event of each version that commit changed to Kafka (header `kind`, key the dossier's
entite_id, value the version's SPEC §4 document, built by PostgreSQL in the worker's field order).

Each step is one transaction, through `psql` (no Python driver needed): update a current version (it moves to the
history table with its validTo, and a new current version starts), delete an object (its current version moves to
history), or create one. After the commit the changed versions' documents are read back and produced, in order,
with acks=all, and flushed before the next step, so events reach the partition in commit order.

Usage: handoff_producer.py --database URL --bootstrap HOST:PORT --topic T --entite UUID --subscription ID
                           [--steps N] [--after-ready N] [--max-steps N] [--pause-ms MS] [--seed S] [--dry-run]
       handoff_producer.py --database URL --entite UUID --dump
Runs at least --steps steps, and goes on until --after-ready steps were committed with the key filter `ready`
(at most --max-steps in all), so that changes happen before, during and after the initialisation whatever its pace.
Prints one line per step on stdout: `<step> <filter status at commit> <op> <kind> <id> <events>`; exits non-zero on
any error. With --dry-run, prints the events as JSON lines instead of producing them (to check the documents).
With --dump, prints every version of the dossier (current and history) as a JSON line
`{"name": "<kind>/<id>_<validFrom>", "current": true|false, "document": "<the §4 document>"}`: what the test
compares the sink with, built by the same query as the events.
"""
import argparse
import json
import random
import subprocess
import sys
import time
import uuid

KINDS = {
    "journal": {
        "fields": ["application_id", "code", "libelle", "compte_contrepartie_id", "type_contrepartie", "type", "ferme"],
        "json": [("application_id", "application_id"), ("code", "code"), ("libelle", "libelle"),
                 ("compteContrepartie_id", "compte_contrepartie_id"), ("typeContrepartie", "type_contrepartie"),
                 ("type", "type"), ("ferme", "ferme")],
        "text": "libelle",
    },
    "compte": {
        "fields": ["application_id", "numero", "libelle", "type", "lettrable", "ferme", "compte_collectif_id"],
        "json": [("application_id", "application_id"), ("numero", "numero"), ("libelle", "libelle"), ("type", "type"),
                 ("lettrable", "lettrable"), ("ferme", "ferme"), ("compteCollectif_id", "compte_collectif_id")],
        "text": "libelle",
    },
    "ecriture": {
        "fields": ["application_id", "journal_id", "date_ecriture", "numero_piece", "libelle", "lignes"],
        "json": [("application_id", "application_id"), ("journal_id", "journal_id"), ("dateEcriture", "date_ecriture"),
                 ("numeroPiece", "numero_piece"), ("libelle", "libelle"), ("lignes", "lignes")],
        "text": "libelle",
    },
}


def literal(value):
    """A SQL literal for the values this script writes (text, ints, None)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class Psql:
    def __init__(self, database):
        self.database = database

    def run(self, script):
        result = subprocess.run(
            ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", self.database],
            input=script, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return [line for line in result.stdout.split("\n") if line != ""]


def document_select(kind, entite, condition="true"):
    """`id|valid_from|valid_to|document` of the dossier's versions of `kind` (current and history) meeting
    `condition`, the document built in DossierDocument.build's field order."""
    spec = KINDS[kind]
    pairs = [("'entite_id'", "entite_id"), ("'" + spec["json"][0][0] + "'", spec["json"][0][1]), ("'timestamp'", "valid_from"),
             ("'id'", "id")]
    pairs += [("'" + name + "'", column) for name, column in spec["json"][1:]]
    pairs += [("'validFrom'", "valid_from"), ("'validTo'", "valid_to")]
    build = ", ".join(f"{name}, {column}" for name, column in pairs)
    columns = "entite_id, id, valid_from, valid_to, " + ", ".join(spec["fields"])
    return (f"SELECT id, valid_from, valid_to, json_build_object({build})::text FROM (SELECT {columns} FROM cae_{kind} UNION ALL "
            f"SELECT {columns} FROM cae_{kind}_history) v WHERE entite_id = '{entite}' AND {condition} ORDER BY id, valid_from;")


def document_query(kind, entite, object_id, valid_from):
    """One version's document (the last field of `document_select`'s line)."""
    return document_select(kind, entite, f"id = '{object_id}' AND valid_from = {valid_from}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--bootstrap")
    parser.add_argument("--topic")
    parser.add_argument("--entite", required=True)
    parser.add_argument("--subscription")
    parser.add_argument("--dump", action="store_true")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--after-ready", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=5000)
    parser.add_argument("--pause-ms", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    psql = Psql(args.database)
    entite = args.entite

    if args.dump:
        for kind in KINDS:
            for line in psql.run(document_select(kind, entite)):
                object_id, valid_from, valid_to, document = line.split("|", 3)
                print(json.dumps({"name": f"{kind}/{object_id}_{valid_from}", "current": valid_to == "0", "document": document}))
        return 0
    if not (args.topic and args.subscription and (args.bootstrap or args.dry_run)):
        raise SystemExit("--topic, --subscription and --bootstrap (or --dry-run) are needed to produce")

    producer = None
    if not args.dry_run:
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 0, "message.timeout.ms": 30000})
    failures = []

    def delivered(error, message):
        if error is not None:
            failures.append(str(error))

    # The dossier's current objects: kind -> {id: valid_from}.
    current = {kind: {} for kind in KINDS}
    for kind in KINDS:
        for line in psql.run(f"SELECT id, valid_from FROM cae_{kind} WHERE entite_id = '{entite}';"):
            object_id, valid_from = line.split("|")
            current[kind][object_id] = int(valid_from)
    # Strictly increasing instants, after every validFrom already there.
    clock = max([int(time.time() * 1000)] + [vf + 1 for ids in current.values() for vf in ids.values()])

    ready_steps = 0
    step = -1
    while True:
        step += 1
        if step >= args.max_steps or (step >= args.steps and ready_steps >= args.after_ready):
            break
        clock = max(clock + 1, int(time.time() * 1000))
        kind = rng.choice(list(KINDS))
        spec = KINDS[kind]
        ids = sorted(current[kind])
        roll = rng.random()
        op = "update" if ids and roll < 0.7 else ("delete" if ids and roll < 0.8 else "create")
        statements = []
        changed = []  # (kind, id, valid_from) of the versions to produce, in order
        columns = ", ".join(["entite_id", "id"] + spec["fields"] + ["valid_from", "valid_to"])
        if op in ("update", "delete"):
            object_id = rng.choice(ids)
            old_from = current[kind][object_id]
            statements.append(
                f"WITH gone AS (DELETE FROM cae_{kind} WHERE entite_id = '{entite}' AND id = '{object_id}' RETURNING *) "
                f"INSERT INTO cae_{kind}_history ({columns}) SELECT entite_id, id, {', '.join(spec['fields'])}, valid_from, {clock} FROM gone;")
            changed.append((kind, object_id, old_from))
            if op == "update":
                text = f"step {step} {rng.randint(0, 10**6)}"
                statements.append(
                    f"INSERT INTO cae_{kind} ({columns}) SELECT entite_id, id, "
                    + ", ".join(literal(text) if f == spec["text"] else f for f in spec["fields"])
                    + f", {clock}, 0 FROM cae_{kind}_history WHERE entite_id = '{entite}' AND id = '{object_id}' AND valid_from = {old_from};")
                changed.append((kind, object_id, clock))
                current[kind][object_id] = clock
            else:
                del current[kind][object_id]
        else:
            object_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            values = {
                "application_id": literal("1999353e-52d1-4598-b76e-6fcbd15620fe"), "code": literal(f"C{step}"),
                "libelle": literal(f"created at step {step}"), "compte_contrepartie_id": "NULL", "type_contrepartie": "1",
                "type": "2", "ferme": "false", "numero": literal(f"4{step:05d}"), "lettrable": "true",
                "compte_collectif_id": "NULL", "journal_id": "NULL", "date_ecriture": str(clock),
                "numero_piece": literal(f"P{step}"),
                "lignes": literal(json.dumps([{"compte_id": None, "libelle": "l", "debit": "12.30", "credit": "0.00"}]).replace('"12.30"', "12.30").replace('"0.00"', "0.00")) + "::jsonb",
            }
            statements.append(
                f"INSERT INTO cae_{kind} ({columns}) VALUES ('{entite}', '{object_id}', "
                + ", ".join(values[f] for f in spec["fields"]) + f", {clock}, 0);")
            changed.append((kind, object_id, clock))
            current[kind][object_id] = clock
        # One transaction; the filter's status is read in it (what the hand-off saw at that commit, roughly).
        script = ("BEGIN;\n" + "\n".join(statements)
                  + f"\nSELECT coalesce((SELECT status FROM cae_key_filter WHERE subscription_id = '{args.subscription}' AND key = '{entite}'), 'absent');"
                  + "\nCOMMIT;\n"
                  + "\n".join(document_query(k, entite, i, vf) for k, i, vf in changed))
        lines = psql.run(script)
        status, documents = lines[0], [line.split("|", 3)[3] for line in lines[1:]]
        if status == "ready":
            ready_steps += 1
        if len(documents) != len(changed):
            raise SystemExit(f"step {step}: expected {len(changed)} documents, read {len(documents)}")
        for (k, i, vf), document in zip(changed, documents):
            if args.dry_run:
                print(json.dumps({"topic": args.topic, "key": entite, "headers": {"kind": k}, "value": document}), flush=True)
            else:
                producer.produce(args.topic, key=entite.encode(), value=document.encode(), headers=[("kind", k.encode())],
                                 on_delivery=delivered)
        if producer is not None:
            if producer.flush(30) != 0:
                raise SystemExit(f"step {step}: messages still unsent after 30 s")
            if failures:
                raise SystemExit(f"step {step}: delivery failed: {failures[0]}")
        print(f"{step} {status} {op} {kind} {object_id} {len(changed)}", flush=True)
        time.sleep(args.pause_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
