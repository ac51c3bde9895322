-- metagraph-lens schema, migration 2: the money path (issue 14). Applied by analytics/store.py after
-- version 1; adds columns and tables, never rewrites existing rows (old snapshots keep NULLs: "unknown").
-- Raw integers as the chain stores them: u16 takes (USMALLINT), u64 proportions and rao (UBIGINT).
--
-- Blocks (aligned snapshot with epoch block e): pending emission, takes, stakes, parent/child relations
-- and identities as read at e - 1 (what the epoch and its payout used); recorded dividends, pool
-- reserves, prices and block e's own emission as read at e.

-- The E the epoch distributed, split as the coinbase drained it (rao), and how it is known.
ALTER TABLE subnets ADD COLUMN epoch_emission_source VARCHAR;   -- 'derived' (chain), 'model' (demo), NULL unknown
ALTER TABLE subnets ADD COLUMN pending_server UBIGINT;          -- miners' half drained at e
ALTER TABLE subnets ADD COLUMN pending_validator UBIGINT;       -- validators' alpha part drained at e
ALTER TABLE subnets ADD COLUMN pending_root UBIGINT;            -- root stakers' part drained at e
ALTER TABLE subnets ADD COLUMN owner_cut UBIGINT;               -- owner cut drained at e (not in E)
ALTER TABLE subnets ADD COLUMN block_alpha_out UBIGINT;         -- SubnetAlphaOutEmission of block e
ALTER TABLE subnets ADD COLUMN subnet_owner_cut USMALLINT;      -- SubnetOwnerCut (u16 / 65535)
ALTER TABLE subnets ADD COLUMN root_proportion DOUBLE;          -- RootProp at e - 1 (display; see collector)
ALTER TABLE subnets ADD COLUMN ck_burn UBIGINT;                 -- CKBurn (u64 / u64::MAX of a parent's share)
-- The pool, at e.
ALTER TABLE subnets ADD COLUMN tao_reserve UBIGINT;             -- SubnetTAO (rao)
ALTER TABLE subnets ADD COLUMN alpha_reserve UBIGINT;           -- SubnetAlphaIn (rao)
ALTER TABLE subnets ADD COLUMN alpha_outstanding UBIGINT;       -- SubnetAlphaOut (rao)
ALTER TABLE subnets ADD COLUMN price_rao UBIGINT;               -- spot price: rao of TAO per 1 alpha
ALTER TABLE subnets ADD COLUMN moving_price DOUBLE;             -- SubnetMovingPrice (TAO per alpha)
ALTER TABLE subnets ADD COLUMN tao_in_emission UBIGINT;         -- block e: TAO injected into the pool
ALTER TABLE subnets ADD COLUMN excess_tao UBIGINT;              -- block e: TAO swapped for alpha (chain buy)
ALTER TABLE subnets ADD COLUMN emission_share DOUBLE;           -- the subnet's share of block emission
-- Emission gate (runtime spec >= 440; NULL before).
ALTER TABLE subnets ADD COLUMN emission_gate_bar DOUBLE;
ALTER TABLE subnets ADD COLUMN emission_bar_quantile DOUBLE;
ALTER TABLE subnets ADD COLUMN emission_gate_exponent DOUBLE;
ALTER TABLE subnets ADD COLUMN emission_bar_rank INTEGER;
-- The runtime that ran the epoch (spec version of block e, not of the chain head).
ALTER TABLE subnets ADD COLUMN epoch_spec_version INTEGER;

-- Per hotkey on a subnet: every registered hotkey, plus parents that earn through a child here.
CREATE TABLE IF NOT EXISTS hotkeys (
    snapshot_id          BIGINT NOT NULL,
    netuid               INTEGER NOT NULL,
    hotkey               VARCHAR NOT NULL,
    uid                  INTEGER,            -- NULL: not registered here (a parent of a child key)
    coldkey              VARCHAR,            -- Owner of the hotkey (who receives the take)
    delegate_take        USMALLINT,          -- Delegates (u16 / 65535), at e - 1
    childkey_take        USMALLINT,          -- effective ChildkeyTake on this subnet, at e - 1
    alpha_stake_own      UBIGINT,            -- TotalHotkeyAlpha on this subnet (not inherited), at e - 1
    root_stake_own       UBIGINT,            -- TotalHotkeyAlpha on root (TAO rao), at e - 1
    alpha_dividends      UBIGINT,            -- AlphaDividendsPerSubnet at e (after take; NULL unknown)
    root_alpha_dividends UBIGINT,            -- RootAlphaDividendsPerSubnet at e (after take; NULL unknown)
    nominators           INTEGER,            -- coldkeys staking to the hotkey on this subnet (NULL unknown)
    identity_name        VARCHAR,            -- on-chain identity of the coldkey: untrusted, never render as HTML
    PRIMARY KEY (snapshot_id, netuid, hotkey)
);

-- Parent/child relations on a subnet, at e - 1: ParentKeys of each validator and ChildKeys of each
-- validator (a validator's own share depends on what it gives its children), one row per edge.
CREATE TABLE IF NOT EXISTS child_keys (
    snapshot_id    BIGINT NOT NULL,
    netuid         INTEGER NOT NULL,
    child_hotkey   VARCHAR NOT NULL,
    parent_hotkey  VARCHAR NOT NULL,
    proportion     UBIGINT NOT NULL,         -- u64 share of the parent's stake (u64::MAX = all)
    suspended      BOOLEAN NOT NULL,         -- parent ChildkeyThresholdSuspended and not the subnet owner: inert
    PRIMARY KEY (snapshot_id, netuid, child_hotkey, parent_hotkey)
);
