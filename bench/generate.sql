-- Generates one large, deterministic dossier directly in SQL (no fixture file). Run by bench/run.sh:
--   psql -v entite=<uuid> -v application=<uuid> -v ecritures=N -v deleted=N -v hist_pct=P \
--        -v comptes=N -v journals=N -v periods=N -f bench/generate.sql
--
-- Shape (every value derives from the object's number, so two runs produce the same rows):
--   * `periods` monthly situation periods; referenceDate = first instant of the following month (as in
--     Fixtures/), the first one for January 2022.
--   * every object has a chain of history versions followed by its current version, or (deleted objects) a chain
--     of history versions only. With c its creation instant and L its edit interval, the boundaries are
--     b_k = c + L*k*(k+1)/2 (k = 0..nh): history version k is [b_k, b_{k+1}), the current version starts at b_nh.
--     Chains never overlap. For écritures L is hours for one object in five (corrections that no month-end
--     situation sees) and days otherwise (versions seen by one or several situations: the SPEC §4 "written once"
--     case).
--   * écritures: `ecritures` current ones, hist_pct % of them with 1-3 history versions, plus `deleted` écritures
--     that only have history (1-2 versions); created across the 3 years of periods; 2-4 balanced lignes each,
--     amounts with 2 decimals (jsonb numerics), compte_id pointing to the dossier's comptes.
--   * comptes: one in four with 1-3 history versions; journals: one in two with 1-2 history versions; both created
--     in 2021, before the first period.
\set ON_ERROR_STOP on
-- 2022-01-01T00:00:00Z in epoch ms; 94608000000 ms = 1095 days.
\set t0 1640995200000

BEGIN;
SET LOCAL synchronous_commit = off;

DELETE FROM cae_situation_period WHERE entite_id = :'entite';
DELETE FROM cae_journal WHERE entite_id = :'entite';
DELETE FROM cae_journal_history WHERE entite_id = :'entite';
DELETE FROM cae_compte WHERE entite_id = :'entite';
DELETE FROM cae_compte_history WHERE entite_id = :'entite';
DELETE FROM cae_ecriture WHERE entite_id = :'entite';
DELETE FROM cae_ecriture_history WHERE entite_id = :'entite';

-- ---- situation periods ---------------------------------------------------------------------------------------
INSERT INTO cae_situation_period (entite_id, id, reference_date, libelle)
SELECT :'entite'::uuid, md5('bench-period-' || k)::uuid,
       (extract(epoch FROM (timestamp '2022-01-01' + (k + 1) * interval '1 month')) * 1000)::bigint,
       'Situation ' || to_char(timestamp '2022-01-01' + k * interval '1 month', 'MM/YYYY')
FROM generate_series(0, :periods - 1) AS k;

-- ---- journals --------------------------------------------------------------------------------------------------
CREATE TEMP TABLE bench_jv AS
SELECT o.j, o.id, v, o.nh,
       o.c + o.l * (v * (v + 1) / 2) AS valid_from,
       CASE WHEN v = o.nh THEN 0 ELSE o.c + o.l * ((v + 1) * (v + 2) / 2) END AS valid_to
FROM (SELECT j, md5('bench-journal-' || j)::uuid AS id,
             CASE WHEN j % 2 = 0 THEN 1 + (j / 2) % 2 ELSE 0 END AS nh,
             :t0 - 300 * 86400000::bigint + j * 3600000::bigint AS c,
             (60 + (j * 37) % 200) * 86400000::bigint AS l
      FROM generate_series(1, :journals) AS j) AS o,
     generate_series(0, o.nh) AS v;

CREATE TEMP VIEW bench_journal_rows AS
SELECT id, :'application'::uuid AS application_id, 'J' || lpad(j::text, 2, '0') AS code,
       (ARRAY['Achats', 'Ventes', 'Banque', 'Opérations diverses', 'Caisse — espèces'])[1 + j % 5]
           || ' n°' || j || CASE WHEN v < nh THEN ' (ancien libellé ' || v || ')' ELSE '' END AS libelle,
       CASE WHEN j % 3 = 0 THEN md5('bench-compte-' || (1 + j % :comptes))::uuid END AS compte_contrepartie_id,
       j % 3 AS type_contrepartie, j % 5 AS type, (j % 10 = 0 AND v = nh) AS ferme, valid_from, valid_to
FROM bench_jv;

INSERT INTO cae_journal (entite_id, id, application_id, code, libelle, compte_contrepartie_id, type_contrepartie, type, ferme, valid_from, valid_to)
SELECT :'entite'::uuid, * FROM bench_journal_rows WHERE valid_to = 0;
INSERT INTO cae_journal_history (entite_id, id, application_id, code, libelle, compte_contrepartie_id, type_contrepartie, type, ferme, valid_from, valid_to)
SELECT :'entite'::uuid, * FROM bench_journal_rows WHERE valid_to <> 0;

-- ---- comptes ---------------------------------------------------------------------------------------------------
CREATE TEMP TABLE bench_cv AS
SELECT o.n, o.id, v, o.nh,
       o.c + o.l * (v * (v + 1) / 2) AS valid_from,
       CASE WHEN v = o.nh THEN 0 ELSE o.c + o.l * ((v + 1) * (v + 2) / 2) END AS valid_to
FROM (SELECT n, md5('bench-compte-' || n)::uuid AS id,
             CASE WHEN n % 4 = 0 THEN 1 + (n / 4) % 3 ELSE 0 END AS nh,
             :t0 - 200 * 86400000::bigint + n * 600000::bigint AS c,
             (20 + (n * 53) % 300) * 86400000::bigint AS l
      FROM generate_series(1, :comptes) AS n) AS o,
     generate_series(0, o.nh) AS v;

CREATE TEMP VIEW bench_compte_rows AS
SELECT id, :'application'::uuid AS application_id,
       (ARRAY['401', '411', '512', '601', '606', '701', '706', '445'])[1 + n % 8] || lpad(n::text, 5, '0') AS numero,
       (ARRAY['Fournisseur', 'Client', 'Banque', 'Achats de marchandises', 'Achats non stockés', 'Ventes de produits',
              'Prestations de services', 'TVA déductible'])[1 + n % 8] || ' n°' || n
           || CASE WHEN v < nh THEN ' (ancien libellé ' || v || ')' ELSE '' END AS libelle,
       n % 4 AS type, n % 8 IN (0, 1) AS lettrable, (n % 50 = 0 AND v = nh) AS ferme,
       CASE WHEN n % 8 IN (0, 1) AND n > 2 THEN md5('bench-compte-' || (1 + n % 8))::uuid END AS compte_collectif_id,
       valid_from, valid_to
FROM bench_cv;

INSERT INTO cae_compte (entite_id, id, application_id, numero, libelle, type, lettrable, ferme, compte_collectif_id, valid_from, valid_to)
SELECT :'entite'::uuid, * FROM bench_compte_rows WHERE valid_to = 0;
INSERT INTO cae_compte_history (entite_id, id, application_id, numero, libelle, type, lettrable, ferme, compte_collectif_id, valid_from, valid_to)
SELECT :'entite'::uuid, * FROM bench_compte_rows WHERE valid_to <> 0;

-- ---- écritures -------------------------------------------------------------------------------------------------
-- The lignes of version v of écriture i: line 1 debits the amount, the others credit it in parts (balanced).
CREATE FUNCTION pg_temp.bench_lignes(i bigint, v bigint, nc int) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_agg(jsonb_build_object(
               'compte_id', md5('bench-compte-' || (1 + (i * 13 + j * 101) % nc))::uuid::text,
               'libelle', CASE WHEN j = 1 THEN 'Pièce ' || i || ' — règlement' ELSE 'Contrepartie n°' || (j - 1) END,
               'debit', CASE WHEN j = 1 THEN x.a ELSE 0.00 END,
               'credit', CASE WHEN j = 1 THEN 0.00
                              WHEN j < x.n THEN trunc(x.a / (x.n - 1), 2)
                              ELSE x.a - trunc(x.a / (x.n - 1), 2) * (x.n - 2) END)
           ORDER BY j)
    FROM (SELECT round((1 + (i * 7919 + v * 1013) % 9999999)::numeric / 100, 2) AS a, (2 + (i / 3) % 3)::int AS n) AS x,
         generate_series(1, x.n) AS j
$$;

CREATE TEMP TABLE bench_e AS
SELECT i, md5('bench-ecriture-' || i)::uuid AS id,
       CASE WHEN i > :ecritures THEN 1 + i % 2
            WHEN (i * 37) % 100 < :hist_pct THEN 1 + (i / 7) % 3
            ELSE 0 END AS nh,
       i > :ecritures AS deleted,
       :t0 + (i * 2654435761) % 94608000000 AS c,
       CASE WHEN i % 5 = 0 THEN (1 + i % 48) * 3600000 ELSE (1 + (i * 31) % 45) * 86400000 END AS l
FROM generate_series(1::bigint, :ecritures + :deleted) AS i;

INSERT INTO cae_ecriture (entite_id, id, application_id, journal_id, date_ecriture, numero_piece, libelle, lignes, valid_from, valid_to)
SELECT :'entite'::uuid, e.id, :'application'::uuid, md5('bench-journal-' || (1 + e.i % :journals))::uuid,
       e.c - e.c % 86400000, 'P' || lpad(e.i::text, 8, '0'),
       'Écriture n°' || e.i, pg_temp.bench_lignes(e.i, e.nh, :comptes),
       e.c + e.l * (e.nh * (e.nh + 1) / 2), 0
FROM bench_e AS e
WHERE NOT e.deleted;

INSERT INTO cae_ecriture_history (entite_id, id, application_id, journal_id, date_ecriture, numero_piece, libelle, lignes, valid_from, valid_to)
SELECT :'entite'::uuid, e.id, :'application'::uuid, md5('bench-journal-' || (1 + e.i % :journals))::uuid,
       e.c - e.c % 86400000, 'P' || lpad(e.i::text, 8, '0'),
       'Écriture n°' || e.i || ' (version ' || v || ')', pg_temp.bench_lignes(e.i, v, :comptes),
       e.c + e.l * (v * (v + 1) / 2), e.c + e.l * ((v + 1) * (v + 2) / 2)
FROM bench_e AS e, generate_series(0, e.nh - 1) AS v;

COMMIT;

ANALYZE cae_situation_period, cae_journal, cae_journal_history, cae_compte, cae_compte_history, cae_ecriture, cae_ecriture_history;
