-- cae-init schema, version 1: the subscription store and the dossier data.

-- ---------------------------------------------------------------------------------------------------------------
-- Subscription store (served by the worker and, later, the Sink Subscription REST API).
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE cae_subscription (
    id                 text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{24}$'),
    domain             text NOT NULL CHECK (domain <> ''),
    key                text,
    application_id     text,
    suspended          boolean NOT NULL DEFAULT false,
    -- {type, credentials, options, retryPolicy?}; secrets are masked whenever it is shown.
    sink               jsonb NOT NULL,
    topics             jsonb NOT NULL DEFAULT '[]',
    filters            jsonb,
    init_with_history  boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cae_subscription_domain ON cae_subscription (domain);

CREATE TABLE cae_key_filter (
    subscription_id    text NOT NULL REFERENCES cae_subscription (id) ON DELETE CASCADE,
    key                uuid NOT NULL,
    -- Order of the filter in the subscription's keyFilters array.
    position           integer NOT NULL,
    status             text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'pending', 'ready', 'failed')),
    initializer        text,
    message            text,
    -- json, not jsonb: keeps the order the report was written in (processedDate, status, locked, …).
    report             json,
    -- Claims: every write a run makes is conditional on claim_id, which a reset, a re-claim or a delete changes.
    attempt            integer NOT NULL DEFAULT 0,
    claim_id           uuid,
    lease_expires_at   timestamptz,
    -- A 'new' filter is claimable from run_after on (backoff after a transient failure).
    run_after          timestamptz NOT NULL DEFAULT now(),
    last_error         text,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, key),
    CHECK ((status = 'pending') = (claim_id IS NOT NULL AND lease_expires_at IS NOT NULL))
);
CREATE INDEX cae_key_filter_claimable ON cae_key_filter (run_after) WHERE status = 'new';
CREATE INDEX cae_key_filter_leases ON cae_key_filter (lease_expires_at) WHERE status = 'pending';

-- Wakes idle workers (LISTEN cae_key_filter_new) as soon as a filter becomes claimable.
CREATE FUNCTION cae_key_filter_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'new' THEN
        PERFORM pg_notify('cae_key_filter_new', NEW.subscription_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cae_key_filter_notify
    AFTER INSERT OR UPDATE OF status, run_after ON cae_key_filter
    FOR EACH ROW EXECUTE FUNCTION cae_key_filter_notify();

-- A subscription leaving suspension makes its waiting filters claimable.
CREATE FUNCTION cae_subscription_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.suspended AND NOT NEW.suspended THEN
        PERFORM pg_notify('cae_key_filter_new', NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cae_subscription_notify
    AFTER UPDATE OF suspended ON cae_subscription
    FOR EACH ROW EXECUTE FUNCTION cae_subscription_notify();

-- ---------------------------------------------------------------------------------------------------------------
-- Dossier data. Each kind has a current table (valid_to = 0) and a history table (earlier versions). The
-- primary keys serve the worker's reads: one dossier's versions ordered by (id, valid_from).
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE cae_situation_period (
    entite_id       uuid NOT NULL,
    id              uuid NOT NULL,
    reference_date  bigint NOT NULL,
    libelle         text,
    PRIMARY KEY (entite_id, id)
);

CREATE TABLE cae_journal (
    entite_id               uuid NOT NULL,
    id                      uuid NOT NULL,
    application_id          uuid,
    code                    text,
    libelle                 text,
    compte_contrepartie_id  uuid,
    type_contrepartie       integer,
    type                    integer,
    ferme                   boolean,
    valid_from              bigint NOT NULL,
    valid_to                bigint NOT NULL DEFAULT 0 CHECK (valid_to = 0),
    PRIMARY KEY (entite_id, id)
);
CREATE TABLE cae_journal_history (LIKE cae_journal INCLUDING DEFAULTS);
ALTER TABLE cae_journal_history
    ADD PRIMARY KEY (entite_id, id, valid_from),
    ADD CHECK (valid_to <> 0 AND valid_from < valid_to);

CREATE TABLE cae_compte (
    entite_id            uuid NOT NULL,
    id                   uuid NOT NULL,
    application_id       uuid,
    numero               text,
    libelle              text,
    type                 integer,
    lettrable            boolean,
    ferme                boolean,
    compte_collectif_id  uuid,
    valid_from           bigint NOT NULL,
    valid_to             bigint NOT NULL DEFAULT 0 CHECK (valid_to = 0),
    PRIMARY KEY (entite_id, id)
);
CREATE TABLE cae_compte_history (LIKE cae_compte INCLUDING DEFAULTS);
ALTER TABLE cae_compte_history
    ADD PRIMARY KEY (entite_id, id, valid_from),
    ADD CHECK (valid_to <> 0 AND valid_from < valid_to);

CREATE TABLE cae_ecriture (
    entite_id       uuid NOT NULL,
    id              uuid NOT NULL,
    application_id  uuid,
    journal_id      uuid,
    date_ecriture   bigint,
    numero_piece    text,
    libelle         text,
    -- [{compte_id, libelle, debit, credit}]: jsonb numbers are PostgreSQL numerics, every digit kept.
    lignes          jsonb,
    valid_from      bigint NOT NULL,
    valid_to        bigint NOT NULL DEFAULT 0 CHECK (valid_to = 0),
    PRIMARY KEY (entite_id, id)
);
CREATE TABLE cae_ecriture_history (LIKE cae_ecriture INCLUDING DEFAULTS);
ALTER TABLE cae_ecriture_history
    ADD PRIMARY KEY (entite_id, id, valid_from),
    ADD CHECK (valid_to <> 0 AND valid_from < valid_to);
