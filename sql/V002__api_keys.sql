-- cae-init schema, version 2: API keys of the Sink Subscription REST API (`cae-init api-keys`).
CREATE TABLE cae_api_key (
    name          text PRIMARY KEY CHECK (name <> ''),
    -- SHA-256 (hex) of the key: the key itself is printed once at creation and never stored.
    key_hash      text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    -- The domains whose subscriptions the key sees and changes; ignored when all_domains.
    domains       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(domains) = 'array'),
    all_domains   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Updated at most once a minute per key, so that reads do not all become writes.
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CHECK (all_domains OR jsonb_array_length(domains) > 0)
);
