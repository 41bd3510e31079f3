-- cae-init schema, version 3: the live Sink Service (hand-off of events of keys being initialised, dead letters).

-- Events of a key whose filter is 'new' or 'pending', kept until it is 'ready' and then replayed in offset order
-- (README, "Hand-off"). A redelivered message hits the primary key and is kept once. Removing the key filter or
-- its subscription discards what was kept for it.
CREATE TABLE cae_live_event_kept (
    subscription_id  text NOT NULL,
    key              uuid NOT NULL,
    topic            text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL CHECK (kafka_offset >= 0),
    -- The message's `kind` header (journal, compte, ecriture, or anything else for a plain event).
    kind             text,
    -- The value's bytes exactly as received.
    value            bytea,
    kept_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, topic, kafka_partition, kafka_offset),
    FOREIGN KEY (subscription_id, key) REFERENCES cae_key_filter (subscription_id, key) ON DELETE CASCADE
);
CREATE INDEX cae_live_event_kept_key ON cae_live_event_kept (subscription_id, key, topic, kafka_partition, kafka_offset);

-- Messages a subscription could not take (its sink refused them after the retries, a bad folder, a malformed
-- document), with the reason: `cae-init dead-letters list|retry|discard`. The reason never holds a secret.
CREATE TABLE cae_dead_letter (
    id                bigserial PRIMARY KEY,
    subscription_id   text NOT NULL,
    key               uuid NOT NULL,
    topic             text NOT NULL,
    kafka_partition   integer NOT NULL,
    kafka_offset      bigint NOT NULL CHECK (kafka_offset >= 0),
    kind              text,
    value             bytea,
    reason            text NOT NULL,
    attempts          integer NOT NULL DEFAULT 1,
    first_failure_at  timestamptz NOT NULL DEFAULT now(),
    last_failure_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, topic, kafka_partition, kafka_offset),
    FOREIGN KEY (subscription_id, key) REFERENCES cae_key_filter (subscription_id, key) ON DELETE CASCADE
);
CREATE INDEX cae_dead_letter_key ON cae_dead_letter (subscription_id, key);

-- The Sink Service re-subscribes (LISTEN cae_subscription_changed) when what routes messages changes: a
-- subscription created or deleted, its topics, suspension, sink or filters.
CREATE FUNCTION cae_subscription_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('cae_subscription_changed', OLD.id);
    ELSIF TG_OP = 'INSERT'
          OR OLD.topics IS DISTINCT FROM NEW.topics OR OLD.suspended IS DISTINCT FROM NEW.suspended
          OR OLD.sink IS DISTINCT FROM NEW.sink OR OLD.filters IS DISTINCT FROM NEW.filters THEN
        PERFORM pg_notify('cae_subscription_changed', NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cae_subscription_changed_notify
    AFTER INSERT OR DELETE OR UPDATE OF topics, suspended, sink, filters ON cae_subscription
    FOR EACH ROW EXECUTE FUNCTION cae_subscription_changed_notify();

-- The hand-off drain (LISTEN cae_key_filter_ready) replays a key's kept events as soon as its filter is 'ready',
-- even when no new message of that key arrives. Payload: '<subscription id> <key>'.
CREATE FUNCTION cae_key_filter_ready_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'ready' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'ready') THEN
        PERFORM pg_notify('cae_key_filter_ready', NEW.subscription_id || ' ' || NEW.key::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cae_key_filter_ready_notify
    AFTER INSERT OR UPDATE OF status ON cae_key_filter
    FOR EACH ROW EXECUTE FUNCTION cae_key_filter_ready_notify();
