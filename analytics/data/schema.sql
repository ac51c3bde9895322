-- metagraph-lens schema, version 1. Applied by analytics/store.py (the only module that runs SQL) as
-- migration 1; store.py records applied migrations in `schema_version (version, applied_at)` and
-- applies later ones (store.MIGRATIONS) forward, never editing this file's tables in place.
-- Raw integers as the chain stores them: u16 proportions (USMALLINT), rao amounts (UBIGINT).
-- A UID is a slot, not an identity: history follows hotkeys.
--
-- Epoch alignment. For an aligned snapshot of a subnet with last epoch block e:
--   inputs  (stake, permits_prev, bonds, last_update, block_at_registration, hyperparameters,
--            prev_consensus / prev_incentive) are as read at e - 1;
--   weights are as read at e when commit-reveal is on, else at e - 1 (weights_block says which);
--   outputs (consensus, incentive, validator_trust, dividends, emission, stake_weight,
--            validator_permit, bonds_after) are as read at e.
-- A non-aligned snapshot (--block B) reads everything at B (inputs_block = outputs_block = B).

CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id   BIGINT PRIMARY KEY,
    network       VARCHAR NOT NULL,          -- 'finney', 'test', 'demo', a ws URL...
    block         BIGINT NOT NULL,           -- the anchor block of the run (chain head when collected)
    block_hash    VARCHAR,
    taken_at      TIMESTAMP NOT NULL,        -- UTC, when the chain was read (demo: synthetic, deterministic)
    spec_version  INTEGER,
    sdk_version   VARCHAR,
    source        VARCHAR NOT NULL CHECK (source IN ('chain', 'demo', 'import')),
    note          VARCHAR,
    UNIQUE (network, block)
);

CREATE TABLE IF NOT EXISTS subnets (
    snapshot_id          BIGINT NOT NULL,
    netuid               INTEGER NOT NULL,
    name                 VARCHAR,            -- untrusted chain string: never render as HTML
    symbol               VARCHAR,
    owner_hotkey         VARCHAR,
    owner_coldkey        VARCHAR,
    n                    INTEGER NOT NULL,   -- SubnetworkN
    tempo                INTEGER NOT NULL,
    kappa                INTEGER NOT NULL,   -- u16
    bonds_moving_avg     BIGINT NOT NULL,    -- u64, 900_000 = alpha 0.1
    bonds_penalty        INTEGER NOT NULL,   -- u16
    activity_cutoff_factor_milli INTEGER NOT NULL,
    yuma3                BOOLEAN NOT NULL,
    liquid_alpha         BOOLEAN NOT NULL,
    alpha_low            INTEGER NOT NULL,   -- u16
    alpha_high           INTEGER NOT NULL,   -- u16
    alpha_sigmoid_steepness INTEGER NOT NULL,-- i16
    max_validators       INTEGER NOT NULL,
    commit_reveal        BOOLEAN NOT NULL,
    tao_weight           UBIGINT NOT NULL,   -- raw u64 TaoWeight
    stake_threshold      UBIGINT NOT NULL,   -- rao
    mechanism_count      INTEGER NOT NULL,
    emission_split       USMALLINT[],        -- raw u16 vector, NULL = even split
    epoch_emission       UBIGINT,            -- E passed to the epoch (rao), NULL if unknown
    aligned              BOOLEAN NOT NULL,   -- epoch-aligned snapshot of this subnet
    epoch_block          BIGINT,             -- e (aligned) or NULL
    inputs_block         BIGINT NOT NULL,    -- e - 1 (aligned) or B
    weights_block        BIGINT NOT NULL,    -- e (commit-reveal) / e - 1 / B
    outputs_block        BIGINT NOT NULL,    -- e (aligned) or B
    last_mechanism_step_block BIGINT NOT NULL, -- LastMechansimStepBlock as the epoch saw it (0 = unknown)
    PRIMARY KEY (snapshot_id, netuid)
);

CREATE TABLE IF NOT EXISTS neurons (
    snapshot_id          BIGINT NOT NULL,
    netuid               INTEGER NOT NULL,
    uid                  INTEGER NOT NULL,
    hotkey               VARCHAR NOT NULL,
    coldkey              VARCHAR NOT NULL,
    is_owner             BOOLEAN NOT NULL,   -- hotkey == subnet owner hotkey
    block_at_registration BIGINT NOT NULL,
    alpha_stake          UBIGINT NOT NULL,   -- rao (inherited, as the epoch uses it)
    tao_stake            UBIGINT NOT NULL,   -- rao (root stake inherited on this subnet)
    total_stake          UBIGINT NOT NULL,   -- rao, as reported by the chain
    validator_permit_prev BOOLEAN NOT NULL,  -- input: permit written by the previous epoch
    prev_consensus       USMALLINT NOT NULL, -- input: previous epoch's consensus (copier signal)
    -- outputs, netuid level (aggregated over mechanisms as the chain stores them)
    active               BOOLEAN NOT NULL,
    validator_permit     BOOLEAN NOT NULL,
    stake_weight         USMALLINT NOT NULL,
    consensus            USMALLINT NOT NULL,
    validator_trust      USMALLINT NOT NULL,
    dividends            USMALLINT NOT NULL,
    emission             UBIGINT NOT NULL,   -- rao per epoch (stored Emission; not the payout when M > 1)
    PRIMARY KEY (snapshot_id, netuid, uid)
);

CREATE TABLE IF NOT EXISTS mechanism_neurons (
    snapshot_id    BIGINT NOT NULL,
    netuid         INTEGER NOT NULL,
    mechid         INTEGER NOT NULL,
    uid            INTEGER NOT NULL,
    last_update    BIGINT NOT NULL,          -- input: the mechanism's LastUpdate
    commit_block   BIGINT,                   -- input: earliest unexpired weight commit, NULL = none
    prev_incentive USMALLINT NOT NULL,       -- input: previous epoch's incentive
    incentive      USMALLINT NOT NULL,       -- output
    PRIMARY KEY (snapshot_id, netuid, mechid, uid)
);

-- Long format; explicit zero weights are kept (they matter for Yuma3 bonds).
CREATE TABLE IF NOT EXISTS weights (
    snapshot_id   BIGINT NOT NULL,
    netuid        INTEGER NOT NULL,
    mechid        INTEGER NOT NULL,
    validator_uid INTEGER NOT NULL,
    miner_uid     INTEGER NOT NULL,
    weight        USMALLINT NOT NULL         -- raw stored u16 (row max-upscaled)
);

-- Bonds the epoch started from (input, read at e - 1) ...
CREATE TABLE IF NOT EXISTS bonds (
    snapshot_id   BIGINT NOT NULL,
    netuid        INTEGER NOT NULL,
    mechid        INTEGER NOT NULL,
    validator_uid INTEGER NOT NULL,
    miner_uid     INTEGER NOT NULL,
    bond          USMALLINT NOT NULL
);

-- ... and the bonds it wrote (output, read at e). Same rows as `bonds` for a non-aligned snapshot.
CREATE TABLE IF NOT EXISTS bonds_after (
    snapshot_id   BIGINT NOT NULL,
    netuid        INTEGER NOT NULL,
    mechid        INTEGER NOT NULL,
    validator_uid INTEGER NOT NULL,
    miner_uid     INTEGER NOT NULL,
    bond          USMALLINT NOT NULL
);

CREATE TABLE IF NOT EXISTS collection_runs (
    run_id         BIGINT PRIMARY KEY,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    network        VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,         -- 'ok', 'partial', 'failed'
    snapshot_id    BIGINT,
    subnets_ok     INTEGER[],
    subnets_failed VARCHAR                   -- JSON object {netuid: error message}
);
